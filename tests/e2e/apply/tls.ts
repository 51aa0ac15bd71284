// The e2e applier's handlers for @pulumi/tls: real keys (node's crypto) and real X.509 certificates
// and CSRs (@peculiar/x509 on node's WebCrypto). Inputs and outputs as the provider documents them:
// https://www.pulumi.com/registry/packages/tls/api-docs/privatekey/ (…/selfsignedcert/, …/certrequest/,
// …/locallysignedcert/); behaviour from terraform-provider-tls (wrapped by pulumi-tls):
// internal/provider/resource_private_key.go (PEM formats: RSA → PKCS#1, ECDSA → SEC1, ED25519 → PKCS#8),
// common_cert.go (allowed_uses names, BasicConstraints always present, CA flag, subject fields; a
// LocallySignedCert takes subject and SANs from the CSR). Every input forces a replacement there, so
// no `update`. Not produced: privateKeyOpenssh (nothing on the single-host path reads it).
import "reflect-metadata";
import * as crypto from "crypto";
import * as x509 from "@peculiar/x509";
import { HandlerRegistry, ResourceHandler } from "./types";

const webcrypto = crypto.webcrypto;
type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;
type Algorithm = crypto.webcrypto.Algorithm;
type EcdsaParams = crypto.webcrypto.EcdsaParams;
type RsaHashedImportParams = crypto.webcrypto.RsaHashedImportParams;
type EcKeyImportParams = crypto.webcrypto.EcKeyImportParams;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const CURVES: Record<string, { node: string; web: string; ssh: string }> = {
  P256: { node: "prime256v1", web: "P-256", ssh: "nistp256" },
  P384: { node: "secp384r1", web: "P-384", ssh: "nistp384" },
  P521: { node: "secp521r1", web: "P-521", ssh: "nistp521" },
};

/** allowed_uses → key usage bits (terraform-provider-tls common_cert.go keyUsages). */
const KEY_USAGES: Record<string, number> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};
/** allowed_uses → extended key usage OIDs (same file, extKeyUsages; OIDs from RFC 5280 and the vendors). */
const EXT_KEY_USAGES: Record<string, string> = {
  any_extended: "2.5.29.37.0",
  server_auth: x509.ExtendedKeyUsage.serverAuth,
  client_auth: x509.ExtendedKeyUsage.clientAuth,
  code_signing: x509.ExtendedKeyUsage.codeSigning,
  email_protection: x509.ExtendedKeyUsage.emailProtection,
  ipsec_end_system: "1.3.6.1.5.5.7.3.5",
  ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
  ipsec_user: "1.3.6.1.5.5.7.3.7",
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  ocsp_signing: x509.ExtendedKeyUsage.ocspSigning,
  microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
  netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
  microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
  microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};
/** Subject fields (pulumi-tls SelfSignedCertSubject / CertRequestSubject) → attribute OIDs. */
const SUBJECT_OIDS: Array<[string, string]> = [
  ["country", "2.5.4.6"],
  ["province", "2.5.4.8"],
  ["locality", "2.5.4.7"],
  ["streetAddresses", "2.5.4.9"],
  ["postalCode", "2.5.4.17"],
  ["organization", "2.5.4.10"],
  ["organizationalUnit", "2.5.4.11"],
  ["commonName", "2.5.4.3"],
  ["serialNumber", "2.5.4.5"],
];
const SUBJECT_KEYS = SUBJECT_OIDS.map(([k]) => k);

function subjectName(subject: Record<string, any> | undefined): x509.JsonName {
  const name: x509.JsonName = [];
  for (const key of Object.keys(subject ?? {})) {
    if (!SUBJECT_KEYS.includes(key) && subject![key] !== undefined && subject![key] !== null) throw new Error(`subject.${key} is not mapped by the e2e applier`);
  }
  for (const [key, oid] of SUBJECT_OIDS) {
    const value = subject?.[key];
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) name.push({ [oid]: [String(v)] });
  }
  return name;
}

// ---- keys ----

function sshString(buf: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}
function sshMpint(b64url: string): Buffer {
  let buf = Buffer.from(b64url, "base64url");
  if (buf[0] & 0x80) buf = Buffer.concat([Buffer.from([0]), buf]);
  return sshString(buf);
}

/** The OpenSSH authorized_keys line of a public key (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4). */
function opensshPublicKey(key: crypto.KeyObject): string {
  const jwk = key.export({ format: "jwk" }) as Record<string, string>;
  let blob: Buffer;
  let kind: string;
  if (jwk.kty === "RSA") {
    kind = "ssh-rsa";
    blob = Buffer.concat([sshString(Buffer.from(kind)), sshMpint(jwk.e), sshMpint(jwk.n)]);
  } else if (jwk.kty === "EC") {
    const curve = Object.values(CURVES).find((c) => c.web === jwk.crv);
    if (!curve) throw new Error(`no OpenSSH form for curve ${jwk.crv}`);
    kind = `ecdsa-sha2-${curve.ssh}`;
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
    blob = Buffer.concat([sshString(Buffer.from(kind)), sshString(Buffer.from(curve.ssh)), sshString(point)]);
  } else {
    kind = "ssh-ed25519";
    blob = Buffer.concat([sshString(Buffer.from(kind)), sshString(Buffer.from(jwk.x, "base64url"))]);
  }
  return `${kind} ${blob.toString("base64")}\n`;
}

export const privateKey: ResourceHandler = {
  mappedInputs: ["algorithm", "rsaBits", "ecdsaCurve"],
  async create(inputs) {
    const algorithm = String(inputs.algorithm);
    let pair: crypto.KeyPairKeyObjectResult;
    let privateKeyPem: string;
    if (algorithm === "RSA") {
      pair = crypto.generateKeyPairSync("rsa", { modulusLength: Number(inputs.rsaBits ?? 2048) });
      privateKeyPem = pair.privateKey.export({ format: "pem", type: "pkcs1" }) as string;
    } else if (algorithm === "ECDSA") {
      // The provider's default curve is P224, which WebCrypto cannot sign with: the program always names one.
      const curve = CURVES[String(inputs.ecdsaCurve ?? "P224")];
      if (!curve) throw new Error(`ecdsaCurve ${inputs.ecdsaCurve ?? "P224 (default)"} is not supported by the e2e applier (P256, P384, P521)`);
      pair = crypto.generateKeyPairSync("ec", { namedCurve: curve.node });
      privateKeyPem = pair.privateKey.export({ format: "pem", type: "sec1" }) as string;
    } else if (algorithm === "ED25519") {
      pair = crypto.generateKeyPairSync("ed25519");
      privateKeyPem = pair.privateKey.export({ format: "pem", type: "pkcs8" }) as string;
    } else {
      throw new Error(`algorithm ${algorithm} is not one of RSA, ECDSA, ED25519`);
    }
    const publicKeyOpenssh = opensshPublicKey(pair.publicKey);
    const sshBlob = Buffer.from(publicKeyOpenssh.split(" ")[1], "base64");
    const outputs = {
      ...inputs,
      privateKeyPem,
      privateKeyPemPkcs8: pair.privateKey.export({ format: "pem", type: "pkcs8" }) as string,
      publicKeyPem: pair.publicKey.export({ format: "pem", type: "spki" }) as string,
      publicKeyOpenssh,
      publicKeyFingerprintSha256: `SHA256:${crypto.createHash("sha256").update(sshBlob).digest("base64").replace(/=+$/, "")}`,
      publicKeyFingerprintMd5: crypto.createHash("md5").update(sshBlob).digest("hex").match(/../g)!.join(":"),
    };
    // The provider's id: the hex SHA-1 of the public key (resource_private_key.go hashForState).
    return { id: crypto.createHash("sha1").update(outputs.publicKeyPem).digest("hex"), outputs };
  },
  async delete() {},
};

// ---- certificates ----

interface WebKeys {
  keys: CryptoKeyPair;
  signingAlgorithm: Algorithm | EcdsaParams;
  keyAlgorithm: string;
}

/** Imports a PEM private key (any of the provider's formats) as a WebCrypto key pair. */
async function webKeys(pem: string): Promise<WebKeys> {
  const priv = crypto.createPrivateKey(pem);
  const pub = crypto.createPublicKey(priv);
  const pkcs8 = priv.export({ format: "der", type: "pkcs8" });
  const spki = pub.export({ format: "der", type: "spki" });
  let alg: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  let signingAlgorithm: Algorithm | EcdsaParams;
  let keyAlgorithm: string;
  if (priv.asymmetricKeyType === "rsa") {
    alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as RsaHashedImportParams;
    signingAlgorithm = alg;
    keyAlgorithm = "RSA";
  } else if (priv.asymmetricKeyType === "ec") {
    const curve = Object.values(CURVES).find((c) => c.node === priv.asymmetricKeyDetails?.namedCurve);
    if (!curve) throw new Error(`unsupported EC curve ${priv.asymmetricKeyDetails?.namedCurve}`);
    alg = { name: "ECDSA", namedCurve: curve.web } as EcKeyImportParams;
    signingAlgorithm = { name: "ECDSA", hash: curve.web === "P-256" ? "SHA-256" : curve.web === "P-384" ? "SHA-384" : "SHA-512" } as EcdsaParams;
    keyAlgorithm = "ECDSA";
  } else if (priv.asymmetricKeyType === "ed25519") {
    alg = { name: "Ed25519" };
    signingAlgorithm = alg;
    keyAlgorithm = "ED25519";
  } else {
    throw new Error(`unsupported key type ${priv.asymmetricKeyType}`);
  }
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey("pkcs8", pkcs8, alg, true, ["sign"]);
  const publicKey = await subtle.importKey("spki", spki, alg, true, ["verify"]);
  return { keys: { privateKey, publicKey }, signingAlgorithm, keyAlgorithm };
}

function sanNames(dnsNames?: string[], ipAddresses?: string[], uris?: string[]): x509.JsonGeneralName[] {
  return [
    ...(dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ...(uris ?? []).map((value) => ({ type: "url" as const, value })),
  ];
}

function usageExtensions(allowedUses: string[] | undefined): x509.Extension[] {
  let bits = 0;
  const ext: string[] = [];
  for (const use of allowedUses ?? []) {
    if (use in KEY_USAGES) bits |= KEY_USAGES[use];
    else if (use in EXT_KEY_USAGES) ext.push(EXT_KEY_USAGES[use]);
    else throw new Error(`allowedUses: "${use}" is not a use the tls provider knows`);
  }
  return [...(bits ? [new x509.KeyUsagesExtension(bits, true)] : []), ...(ext.length ? [new x509.ExtendedKeyUsageExtension(ext)] : [])];
}

function validity(inputs: Record<string, any>): { notBefore: Date; notAfter: Date } {
  const hours = Number(inputs.validityPeriodHours);
  if (!(hours > 0)) throw new Error(`validityPeriodHours must be positive, got ${inputs.validityPeriodHours}`);
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + hours * 3600_000) };
}

function serialNumber(): string {
  // A positive 128-bit serial (the provider draws 128 random bits).
  const bytes = crypto.randomBytes(16);
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return bytes.toString("hex");
}

function certOutputs(inputs: Record<string, any>, cert: x509.X509Certificate) {
  return {
    ...inputs,
    certPem: cert.toString("pem") + "\n",
    validityStartTime: cert.notBefore.toISOString().replace(/\.\d{3}Z$/, "Z"),
    validityEndTime: cert.notAfter.toISOString().replace(/\.\d{3}Z$/, "Z"),
    readyForRenewal: false,
  };
}

export const selfSignedCert: ResourceHandler = {
  mappedInputs: [
    "privateKeyPem",
    "subject",
    "validityPeriodHours",
    "earlyRenewalHours",
    "allowedUses",
    "isCaCertificate",
    "dnsNames",
    "ipAddresses",
    "uris",
    "setSubjectKeyId",
    "setAuthorityKeyId",
  ],
  async create(inputs) {
    const { keys, signingAlgorithm, keyAlgorithm } = await webKeys(inputs.privateKeyPem);
    const isCa = inputs.isCaCertificate === true;
    const sans = sanNames(inputs.dnsNames, inputs.ipAddresses, inputs.uris);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: subjectName(inputs.subject),
      ...validity(inputs),
      keys,
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(isCa, undefined, true),
        ...usageExtensions(inputs.allowedUses),
        ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
        ...(isCa || inputs.setSubjectKeyId ? [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)] : []),
        ...(inputs.setAuthorityKeyId ? [await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey)] : []),
      ],
    });
    return { id: BigInt(`0x${cert.serialNumber}`).toString(10), outputs: { ...certOutputs(inputs, cert), keyAlgorithm } };
  },
  async delete() {},
};

export const certRequest: ResourceHandler = {
  mappedInputs: ["privateKeyPem", "subject", "dnsNames", "ipAddresses", "uris"],
  async create(inputs) {
    const { keys, signingAlgorithm, keyAlgorithm } = await webKeys(inputs.privateKeyPem);
    const sans = sanNames(inputs.dnsNames, inputs.ipAddresses, inputs.uris);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: subjectName(inputs.subject),
      keys,
      signingAlgorithm,
      extensions: sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
    });
    const certRequestPem = csr.toString("pem") + "\n";
    return { id: crypto.createHash("sha1").update(certRequestPem).digest("hex"), outputs: { ...inputs, certRequestPem, keyAlgorithm } };
  },
  async delete() {},
};

export const locallySignedCert: ResourceHandler = {
  mappedInputs: ["certRequestPem", "caPrivateKeyPem", "caCertPem", "validityPeriodHours", "earlyRenewalHours", "allowedUses", "isCaCertificate", "setSubjectKeyId"],
  async create(inputs) {
    const csr = new x509.Pkcs10CertificateRequest(inputs.certRequestPem);
    if (!(await csr.verify())) throw new Error("certRequestPem: the CSR's signature does not verify");
    const ca = new x509.X509Certificate(inputs.caCertPem);
    const caKeys = await webKeys(inputs.caPrivateKeyPem);
    const caPublic = await ca.publicKey.export();
    const caSpki = Buffer.from(await webcrypto.subtle.exportKey("spki", caPublic));
    const keySpki = Buffer.from(await webcrypto.subtle.exportKey("spki", caKeys.keys.publicKey));
    if (!caSpki.equals(keySpki)) throw new Error("caPrivateKeyPem does not belong to caCertPem");
    const isCa = inputs.isCaCertificate === true;
    // A CSR's extensions parse as plain Extension objects: re-read the SAN from its DER.
    const sanRaw = csr.extensions.find((e) => e.type === "2.5.29.17");
    const san = sanRaw ? new x509.SubjectAlternativeNameExtension(sanRaw.rawData) : undefined;
    const publicKey = await csr.publicKey.export();
    const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: csr.subjectName,
      issuer: ca.subjectName,
      ...validity(inputs),
      publicKey,
      signingKey: caKeys.keys.privateKey,
      signingAlgorithm: caKeys.signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(isCa, undefined, true),
        ...usageExtensions(inputs.allowedUses),
        ...(san ? [new x509.SubjectAlternativeNameExtension(san.names.toJSON())] : []),
        ...(isCa || inputs.setSubjectKeyId ? [await x509.SubjectKeyIdentifierExtension.create(publicKey)] : []),
        ...(caSki ? [new x509.AuthorityKeyIdentifierExtension(caSki.keyId)] : []),
      ],
    });
    return { id: BigInt(`0x${cert.serialNumber}`).toString(10), outputs: { ...certOutputs(inputs, cert), caKeyAlgorithm: caKeys.keyAlgorithm } };
  },
  async delete() {},
};

export const tlsHandlers: HandlerRegistry = {
  "tls:index/privateKey:PrivateKey": privateKey,
  "tls:index/selfSignedCert:SelfSignedCert": selfSignedCert,
  "tls:index/certRequest:CertRequest": certRequest,
  "tls:index/locallySignedCert:LocallySignedCert": locallySignedCert,
};
