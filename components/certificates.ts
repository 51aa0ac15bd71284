// A private CA and the certificates it signs, from @pulumi/tls: the proxy's self-signed TLS and the
// MQTT broker's mutual TLS use the same key type and chain. Callers keep their own names and terms.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

const KEY = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;

/**
 * Terms of a self-signed CA certificate (@pulumi/tls SelfSignedCert): subject, validity and early
 * renewal in hours, and allowed uses (e.g. "cert_signing", "crl_signing"). The key is ECDSA P-256.
 */
export interface CaTerms {
  subject: tls.types.input.SelfSignedCertSubject;
  validityPeriodHours: number;
  earlyRenewalHours?: number;
  allowedUses: string[];
}

/**
 * Terms of a certificate issued by a {@link CertificateAuthority} (@pulumi/tls LocallySignedCert):
 * subject, DNS subject alternative names, validity and early renewal in hours, allowed uses (e.g.
 * "server_auth", "client_auth"). The key is ECDSA P-256.
 */
export interface CertificateTerms {
  subject: tls.types.input.CertRequestSubject;
  dnsNames?: string[];
  validityPeriodHours: number;
  earlyRenewalHours?: number;
  allowedUses: string[];
}

/**
 * A CA declared by {@link certificateAuthority}: its key, its self-signed certificate, and `issue`
 * for certificates it signs. Keys stay Pulumi secrets (@pulumi/tls marks privateKeyPem secret).
 */
export interface CertificateAuthority {
  key: tls.PrivateKey;
  cert: tls.SelfSignedCert;
  /** Issues `<name>-key`, `<name>-csr` and `<name>-cert`, signed by this CA. */
  issue(name: string, terms: CertificateTerms): { key: tls.PrivateKey; cert: tls.LocallySignedCert };
}

/** Declares `<name>-key` and `<name>` (the self-signed CA certificate) under `parent`. */
export function certificateAuthority(name: string, terms: CaTerms, parent: pulumi.Resource): CertificateAuthority {
  const opts = { parent };
  const caKey = new tls.PrivateKey(`${name}-key`, KEY, opts);
  const ca = new tls.SelfSignedCert(name, { privateKeyPem: caKey.privateKeyPem, isCaCertificate: true, ...terms }, opts);
  return {
    key: caKey,
    cert: ca,
    issue(certName, { subject, dnsNames, ...signing }) {
      const key = new tls.PrivateKey(`${certName}-key`, KEY, opts);
      const request = new tls.CertRequest(`${certName}-csr`, { privateKeyPem: key.privateKeyPem, subject, dnsNames }, opts);
      const cert = new tls.LocallySignedCert(
        `${certName}-cert`,
        { certRequestPem: request.certRequestPem, caPrivateKeyPem: caKey.privateKeyPem, caCertPem: ca.certPem, ...signing },
        opts,
      );
      return { key, cert };
    },
  };
}
