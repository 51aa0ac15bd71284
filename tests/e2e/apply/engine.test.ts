// The e2e applier's core with fake handlers: creation order, state, same/update/replace (both
// orders), deletion of what is no longer declared in reverse dependency order, destroy, protect,
// unmapped inputs, secrets and StackReference. Plus the random, tls and command handlers for real.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { X509Certificate, createPublicKey } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import bcrypt from "bcryptjs";
import { ApplyError, applyStack, deletionOrder, destroyStack, readState } from "./engine";
import { randomHandlers, randomString } from "./random";
import { tlsHandlers } from "./tls";
import { commandHandlers } from "./command";
import { HandlerRegistry, ResourceHandler, StateEntry } from "./types";
import { SecretValue } from "../../harness";

class Thing extends pulumi.CustomResource {
  declare readonly out: pulumi.Output<string>;
  constructor(name: string, props: Record<string, pulumi.Input<unknown>>, opts?: pulumi.CustomResourceOptions) {
    super("fake:index:Thing", name, { ...props, out: undefined }, opts);
  }
}

interface Call {
  op: "create" | "update" | "delete";
  name: string;
  id: string;
}

let n = 0;
function fakeHandlers(calls: Call[], over: Partial<ResourceHandler> = {}): HandlerRegistry {
  const handler: ResourceHandler = {
    mappedInputs: ["size", "ref", "mode", "secretValue", "label"],
    replaceKeys: ["mode"],
    async create(inputs, ctx) {
      if (inputs.label === "fail") throw new Error("never became healthy");
      const id = `${ctx.name}#${++n}`;
      calls.push({ op: "create", name: ctx.name, id });
      return { id, outputs: { ...inputs, out: `out-of-${id}` } };
    },
    async update(id, _olds, news, _oldOutputs, ctx) {
      calls.push({ op: "update", name: ctx.name, id });
      return { id, outputs: { ...news, out: `out-of-${id}-updated` } };
    },
    async delete(id, _outputs, _inputs, ctx) {
      calls.push({ op: "delete", name: ctx.name, id });
    },
    ...over,
  };
  return { "fake:index:Thing": handler };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "applier-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

type Shape = { a?: Record<string, unknown>; b?: Record<string, unknown>; bOpts?: pulumi.CustomResourceOptions; c?: boolean; aOpts?: pulumi.CustomResourceOptions };
const program = (shape: Shape) => () => {
  const out: Record<string, unknown> = {};
  const a = shape.a ? new Thing("a", shape.a, shape.aOpts) : undefined;
  if (a) out.a = a.out;
  if (shape.b) {
    const b = new Thing("b", { ...shape.b, ref: a?.out }, shape.bOpts);
    out.b = b.out;
    if (shape.c) out.c = new Thing("c", { ref: b.out }).out;
  }
  return out;
};

async function apply(shape: Shape, calls: Call[], over: Partial<ResourceHandler> = {}) {
  return applyStack({ stack: "t", program: program(shape), stateFile: path.join(dir, "t.json"), handlers: fakeHandlers(calls, over) });
}

describe("applier core", () => {
  test("creates in dependency order, records state, and a second apply with the same inputs touches nothing", async () => {
    const calls: Call[] = [];
    const first = await apply({ a: { size: 1 }, b: { size: 2 }, c: true }, calls);
    expect(calls.map((c) => `${c.op} ${c.name}`)).toEqual(["create a", "create b", "create c"]);
    const [ia, ib, ic] = calls.map((c) => c.id);
    expect(first.outputs).toEqual({ a: `out-of-${ia}`, b: `out-of-${ib}`, c: `out-of-${ic}` });
    const state = readState(path.join(dir, "t.json"));
    const b = state.resources.find((e) => e.name === "b")!;
    expect(b.inputs).toEqual({ size: 2, ref: `out-of-${ia}` });
    expect(b.dependencies).toEqual([state.resources.find((e) => e.name === "a")!.urn]);

    calls.length = 0;
    const second = await apply({ a: { size: 1 }, b: { size: 2 }, c: true }, calls);
    expect(calls).toEqual([]);
    expect(second.outputs).toEqual(first.outputs);
    expect(second.log.filter((l) => l.startsWith("= same"))).toHaveLength(3);
  });

  test("a change outside replaceKeys updates in place; dependents see the new outputs", async () => {
    const calls: Call[] = [];
    await apply({ a: { size: 1 }, b: { size: 2 } }, calls);
    const ids = calls.map((c) => c.id);
    calls.length = 0;
    const result = await apply({ a: { size: 5 }, b: { size: 2 } }, calls);
    // a updated (its out changes), so b's input ref changed: b updated too.
    expect(calls.map((c) => `${c.op} ${c.name} ${c.id}`)).toEqual([`update a ${ids[0]}`, `update b ${ids[1]}`]);
    expect(result.outputs.b).toBe(`out-of-${ids[1]}-updated`);
  });

  test("a replaceKeys change creates the new one before deleting the old (after the program), unless deleteBeforeReplace", async () => {
    const calls: Call[] = [];
    await apply({ a: { mode: "x" } }, calls);
    calls.length = 0;
    await apply({ a: { mode: "y" } }, calls);
    expect(calls[0]).toMatchObject({ op: "create", name: "a" });
    expect(calls[1]).toMatchObject({ op: "delete", name: "a" });
    expect(calls[0].id).not.toBe(calls[1].id);

    calls.length = 0;
    await apply({ a: { mode: "z" }, aOpts: { deleteBeforeReplace: true } }, calls);
    expect(calls.map((c) => c.op)).toEqual(["delete", "create"]);
  });

  test("a create-first replacement that fails keeps the old resource running and in state, and the apply reports it", async () => {
    const calls: Call[] = [];
    await apply({ a: { mode: "x", label: "ok" } }, calls);
    const before = readState(path.join(dir, "t.json")).resources.find((e) => e.name === "a")!;
    calls.length = 0;
    await expect(apply({ a: { mode: "y", label: "fail" } }, calls)).rejects.toThrow(/fake:index:Thing "a".*never became healthy/s);
    expect(calls).toEqual([]);
    const after = readState(path.join(dir, "t.json")).resources.find((e) => e.name === "a")!;
    expect(after).toEqual(before);
    // The next good apply replaces it normally.
    await apply({ a: { mode: "y", label: "ok" } }, calls);
    expect(calls.map((c) => c.op)).toEqual(["create", "delete"]);
    expect(calls[1].id).toBe(before.id);
  });

  test("resources no longer declared are deleted after the program, dependents first", async () => {
    const calls: Call[] = [];
    await apply({ a: { size: 1 }, b: { size: 2 }, c: true }, calls);
    calls.length = 0;
    await apply({}, calls);
    expect(calls.map((c) => `${c.op} ${c.name}`)).toEqual(["delete c", "delete b", "delete a"]);
    expect(readState(path.join(dir, "t.json")).resources).toEqual([]);
  });

  test("destroy deletes in reverse dependency order and refuses protected resources unless allowed", async () => {
    const calls: Call[] = [];
    await apply({ a: { size: 1 }, aOpts: { protect: true }, b: { size: 2 }, c: true }, calls);
    calls.length = 0;
    const stateFile = path.join(dir, "t.json");
    await expect(destroyStack({ stack: "t", stateFile, handlers: fakeHandlers(calls) })).rejects.toThrow(/protected resources fake:index:Thing "a"/);
    expect(calls).toEqual([]);
    await destroyStack({ stack: "t", stateFile, handlers: fakeHandlers(calls), allowProtected: true });
    expect(calls.map((c) => `${c.op} ${c.name}`)).toEqual(["delete c", "delete b", "delete a"]);
    expect(readState(stateFile).resources).toEqual([]);
  });

  test("removing a protected resource from the program fails instead of deleting it", async () => {
    const calls: Call[] = [];
    await apply({ a: { size: 1 }, aOpts: { protect: true } }, calls);
    calls.length = 0;
    await expect(apply({}, calls)).rejects.toThrow(/"a" is protected and no longer declared/);
    expect(calls).toEqual([]);
    expect(readState(path.join(dir, "t.json")).resources.map((e) => e.name)).toEqual(["a"]);
  });

  test("deletionOrder honours dependencies over creation order", () => {
    const e = (urn: string, dependencies: string[] = [], parent?: string): StateEntry => ({
      urn,
      type: "t",
      name: urn,
      id: urn,
      inputs: {},
      outputs: {},
      dependencies,
      parent,
      protect: false,
      deleteBeforeReplace: false,
    });
    // "x" was created last but "y" (created earlier, e.g. kept across an update) depends on it.
    const order = deletionOrder([e("net"), e("y", ["x", "net"]), e("x", ["net"])]).map((x) => x.urn);
    expect(order).toEqual(["y", "x", "net"]);
  });

  test("an input the handler does not map, or a type without a handler, fails loudly, naming type, resource and key", async () => {
    const calls: Call[] = [];
    await expect(apply({ a: { size: 1, colour: "red" } }, calls)).rejects.toThrow(/fake:index:Thing "a": input "colour" not mapped/);
    expect(calls).toEqual([]);
    await expect(applyStack({ stack: "t", program: program({ a: { size: 1 } }), stateFile: path.join(dir, "u.json"), handlers: {} })).rejects.toThrow(
      /fake:index:Thing "a": the e2e applier has no handler/,
    );
  });

  test("outputs of secret inputs and additionalSecretOutputs stay secret; StackReference reads another stack's state", async () => {
    const calls: Call[] = [];
    const devState = path.join(dir, "dev.json");
    const dev = await applyStack({
      stack: "dev",
      program: () => {
        const a = new Thing("a", { secretValue: pulumi.secret("s3cret"), size: 1 }, { additionalSecretOutputs: ["size"] });
        return { value: (a as any).secretValue, size: (a as any).size, plain: a.out };
      },
      stateFile: devState,
      handlers: fakeHandlers(calls),
    });
    expect(dev.outputs.value).toBeInstanceOf(SecretValue);
    expect((dev.outputs.value as SecretValue).value).toBe("s3cret");
    expect(dev.outputs.size).toBeInstanceOf(SecretValue);
    const plain = dev.outputs.plain as string;
    expect(plain).toMatch(/^out-of-a#\d+$/);

    const preview = await applyStack({
      stack: "preview-x",
      program: () => {
        const ref = new pulumi.StackReference("dev");
        return { seen: ref.requireOutput("value"), plain: ref.requireOutput("plain") };
      },
      stateFile: path.join(dir, "preview.json"),
      handlers: {},
      stackStateFiles: { dev: devState },
    });
    expect(preview.outputs.seen).toBeInstanceOf(SecretValue);
    expect((preview.outputs.seen as SecretValue).value).toBe("s3cret");
    expect(preview.outputs.plain).toBe(plain);
  });

  test("a failed apply is an ApplyError carrying the log", async () => {
    const err = await apply({ a: { label: "fail" } }, []).catch((e) => e);
    expect(err).toBeInstanceOf(ApplyError);
    expect((err as ApplyError).log.some((l) => l.startsWith("+ create fake:index:Thing a"))).toBe(true);
  });
});

describe("random handlers", () => {
  test("RandomPassword honours length and classes; bcryptHash matches result", async () => {
    const { outputs } = await randomHandlers["random:index/randomPassword:RandomPassword"].create(
      { length: 24, special: false },
      { urn: "u", name: "p", stack: "t", log: () => {} },
    );
    expect(outputs.result).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(bcrypt.compareSync(outputs.result, outputs.bcryptHash)).toBe(true);
    const s = randomString({ length: 12, upper: false, lower: false, numeric: false, overrideSpecial: "!", minSpecial: 3 });
    expect(s).toBe("!".repeat(12));
    expect(() => randomString({ length: 2, minUpper: 3 })).toThrow(/less than the sum/);
  });
});

describe("tls handlers", () => {
  const ctx = { urn: "u", name: "n", stack: "t", log: () => {} };
  test("a CA and a certificate it signs form a chain node's X509 verifies, with SANs and usages", async () => {
    const caKey = await tlsHandlers["tls:index/privateKey:PrivateKey"].create({ algorithm: "ECDSA", ecdsaCurve: "P256" }, ctx);
    expect(caKey.outputs.privateKeyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(caKey.outputs.publicKeyOpenssh).toMatch(/^ecdsa-sha2-nistp256 /);
    const ca = await tlsHandlers["tls:index/selfSignedCert:SelfSignedCert"].create(
      {
        privateKeyPem: caKey.outputs.privateKeyPem,
        isCaCertificate: true,
        subject: { commonName: "test CA", organization: "twinstack" },
        validityPeriodHours: 24,
        allowedUses: ["cert_signing", "crl_signing"],
      },
      ctx,
    );
    const key = await tlsHandlers["tls:index/privateKey:PrivateKey"].create({ algorithm: "ECDSA", ecdsaCurve: "P256" }, ctx);
    const csr = await tlsHandlers["tls:index/certRequest:CertRequest"].create(
      { privateKeyPem: key.outputs.privateKeyPem, subject: { commonName: "dev.myapp.localhost" }, dnsNames: ["dev.myapp.localhost"], ipAddresses: ["127.0.0.1"] },
      ctx,
    );
    const cert = await tlsHandlers["tls:index/locallySignedCert:LocallySignedCert"].create(
      {
        certRequestPem: csr.outputs.certRequestPem,
        caPrivateKeyPem: caKey.outputs.privateKeyPem,
        caCertPem: ca.outputs.certPem,
        validityPeriodHours: 12,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      ctx,
    );
    const caX = new X509Certificate(ca.outputs.certPem);
    const leaf = new X509Certificate(cert.outputs.certPem);
    expect(caX.ca).toBe(true);
    expect(caX.subject).toContain("CN=test CA");
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caX)).toBe(true);
    expect(leaf.verify(caX.publicKey)).toBe(true);
    expect(leaf.checkHost("dev.myapp.localhost")).toBe("dev.myapp.localhost");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(leaf.publicKey.export({ format: "pem", type: "spki" })).toBe(createPublicKey(key.outputs.privateKeyPem).export({ format: "pem", type: "spki" }));
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(12 * 3600_000);
    // A CA key that does not match the CA certificate is refused.
    await expect(
      tlsHandlers["tls:index/locallySignedCert:LocallySignedCert"].create(
        { certRequestPem: csr.outputs.certRequestPem, caPrivateKeyPem: key.outputs.privateKeyPem, caCertPem: ca.outputs.certPem, validityPeriodHours: 1, allowedUses: [] },
        ctx,
      ),
    ).rejects.toThrow(/does not belong/);
  });

  test("ED25519 and RSA keys in the provider's PEM formats", async () => {
    const ed = await tlsHandlers["tls:index/privateKey:PrivateKey"].create({ algorithm: "ED25519" }, ctx);
    expect(ed.outputs.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(ed.outputs.publicKeyOpenssh).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI/);
    const rsa = await tlsHandlers["tls:index/privateKey:PrivateKey"].create({ algorithm: "RSA", rsaBits: 2048 }, ctx);
    expect(rsa.outputs.privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(rsa.outputs.publicKeyOpenssh).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E/);
  });
});

describe("command handler", () => {
  test("create runs with environment and dir; delete sees the previous stdout", async () => {
    const ctx = { urn: "u", name: "cmd", stack: "t", log: () => {} };
    const marker = path.join(dir, "deleted");
    const inputs = { create: 'printf "%s in %s" "$GREETING" "$(pwd)"', delete: `printf "%s" "$PULUMI_COMMAND_STDOUT" > ${marker}`, environment: { GREETING: "hello" }, dir };
    const made = await commandHandlers["command:local:Command"].create(inputs, ctx);
    expect(made.outputs.stdout).toBe(`hello in ${fs.realpathSync(dir)}`);
    await commandHandlers["command:local:Command"].delete(made.id, made.outputs, inputs, ctx);
    expect(fs.readFileSync(marker, "utf8")).toBe(made.outputs.stdout);
    await expect(commandHandlers["command:local:Command"].create({ create: "echo oops >&2; exit 3" }, ctx)).rejects.toThrow(/exited with 3: oops/);
  });
});
