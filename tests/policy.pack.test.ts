// The pack as `pulumi preview --policy-pack policy` runs it: the SDK's policy-pack runner loads
// policy/ (ts-node; here transpile-only, see below), serves the analyzer over gRPC, and the engine's requests get
// the same diagnostics the offline plan reports. The stack files are found as in the engine: the
// parent of the policy directory (the repo's default Pulumi.<stack>.yaml).
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerpb = require("@pulumi/pulumi/proto/analyzer_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const analyzerrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const ROOT = path.resolve(__dirname, "..");
let pack: ChildProcess | undefined;
let client: any;

function startPack(): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.TWINSTACK_STACK_FILE_PATH;
    delete env.TWINSTACK_PROJECT_DIR;
    // Transpile-only ts-node (tests/support/tsNodeTranspileOnly.js): `npm run typecheck` checks the types.
    const transpileOnly = path.join(ROOT, "tests/support/tsNodeTranspileOnly.js");
    pack = spawn(process.execPath, ["-r", transpileOnly, path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js"), "127.0.0.1:1", "."], {
      cwd: path.join(ROOT, "policy"),
      env,
    });
    let out = "";
    let err = "";
    pack.stdout?.on("data", (chunk) => {
      out += chunk;
      const port = /^(\d+)\s*$/m.exec(out);
      if (port) resolve(Number(port[1]));
    });
    pack.stderr?.on("data", (chunk) => (err += chunk));
    pack.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${err}`)));
  });
}

function options(protect = false) {
  const opts = new analyzerpb.AnalyzerResourceOptions();
  opts.setProtect(protect);
  return opts;
}

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method](request, (err: Error | null, resp: T) => (err ? reject(err) : resolve(resp))));
}

interface Diagnostic {
  policy: string;
  level: number;
  message: string;
}
const diagnostics = (resp: any): Diagnostic[] =>
  resp.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: d.getEnforcementlevel(), message: d.getMessage() }));
const MANDATORY = analyzerpb.EnforcementLevel.MANDATORY;

beforeAll(async () => {
  const port = await startPack();
  client = new analyzerrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120_000);

afterAll(() => {
  client?.close();
  if (pack && pack.exitCode === null) pack.kill();
});

describe("the policy pack under the SDK's analyzer server", () => {
  it("lists the eleven policies", async () => {
    const info: any = await call("getAnalyzerInfo", new (require("google-protobuf/google/protobuf/empty_pb").Empty)());
    expect(info.getName()).toBe("twinstack-isolation");
    expect(info.getPoliciesList()).toHaveLength(11);
  });

  it("analyze: a prod image :latest is a mandatory violation (prod read from ../Pulumi.prod.yaml)", async () => {
    const req = new analyzerpb.AnalyzeRequest();
    req.setType("docker:index/remoteImage:RemoteImage");
    req.setName("myapp-prod-app-image");
    req.setUrn("urn:pulumi:prod::twinstack::twinstack:index:InstanceStack$docker:index/remoteImage:RemoteImage::myapp-prod-app-image");
    req.setProperties(Struct.fromJavaScript({ name: "nginxdemos/hello:latest", keepLocally: true }));
    req.setOptions(options());
    const found = diagnostics(await call("analyze", req)).filter((d) => d.policy === "prod-images-immutable");
    expect(found).toHaveLength(1);
    expect(found[0].level).toBe(MANDATORY);
    expect(found[0].message).toContain('prod image "nginxdemos/hello:latest" uses the moving tag ":latest"');
  });

  it("analyzeStack: a dev container without limits breaks the budget (dev read from ../Pulumi.dev.yaml)", async () => {
    const r = new analyzerpb.AnalyzerResource();
    r.setType("docker:index/container:Container");
    r.setName("myapp-dev-app");
    r.setUrn("urn:pulumi:dev::twinstack::docker:index/container:Container::myapp-dev-app");
    r.setProperties(Struct.fromJavaScript({ name: "myapp-dev-app-1234567", image: "x", labels: [{ label: "twinstack.role", value: "app" }] }));
    r.setOptions(options());
    const req = new analyzerpb.AnalyzeStackRequest();
    req.setResourcesList([r]);
    const found = diagnostics(await call("analyzeStack", req)).filter((d) => d.policy === "nonprod-resource-budget");
    expect(found.map((d) => d.level)).toEqual([MANDATORY]);
    expect(found[0].message).toContain('dev container "myapp-dev-app-1234567" has no CPU or memory limit: set twinstack:app.limits');
  });
});
