// The applier's update path on a real Docker engine, with the e2e dev stack: a release replaces the
// unnamed, health-gated app container create-first (the old one serves until the new one is
// healthy) and leaves everything else untouched; a release whose app never becomes healthy fails
// the apply, and the old app is still the one running and serving. Then destroy leaves nothing.
// Run with `npm run e2e` (tests/e2e/run.sh starts the private engine and builds the images).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SecretValue } from "../harness";
import { ApplyError, applyStack, destroyStack, readState } from "./apply/engine";
import { handlers } from "./apply";
import { REPO, docker, dockerHost, httpsGet, progress, until } from "./support";

const STACK_FILE = path.join(REPO, "tests", "e2e", "stacks", "Pulumi.dev.yaml");
const PROJECT_FILE = path.join(REPO, "Pulumi.yaml");
const APP = "docker:index/container:Container";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-e2e-release-"));
const stateFile = path.join(work, "dev.state.json");
let ca = "";
let password = "";

/** The e2e stack file on the test engine, with the app image `image`. */
function stackFile(image: string): string {
  const text = fs.readFileSync(STACK_FILE, "utf8");
  const file = path.join(work, "Pulumi.dev.yaml");
  const out = text.replace("docker: unix:///var/run/docker.sock", `docker: ${dockerHost()}`).replace("image: twinstack-e2e/probe:1", `image: ${image}`);
  if (!out.includes(`image: ${image}`)) throw new Error(`${STACK_FILE}: app image line not found`);
  fs.writeFileSync(file, out);
  return file;
}

const apply = (image: string) => applyStack({ stack: "dev", configFile: stackFile(image), projectFile: PROJECT_FILE, stateFile, handlers, log: (l) => progress(`release: ${l}`) });

const home = () => httpsGet({ host: "dev.myapp.localhost", port: 8443, path: "/", ca, auth: { user: "dev", password } });

/** The app containers on the engine: id → image tag it was created from. */
async function appContainers(): Promise<string[]> {
  const { stdout } = await docker(["ps", "-a", "--filter", "label=twinstack.role=app", "--format", "{{.ID}} {{.Status}}"]);
  return stdout.split("\n").filter(Boolean);
}

afterAll(async () => {
  try {
    if (fs.existsSync(stateFile) && readState(stateFile).resources.length) await destroyStack({ stack: "dev", stateFile, handlers });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test("a release replaces the gated app create-first; a release that never becomes healthy fails and the old app keeps serving", async () => {
  const first = await apply("twinstack-e2e/probe:1");
  ca = String(first.outputs.caCertificate);
  password = String(((first.outputs.basicAuthPasswords as SecretValue).value as Record<string, string>).dev);
  await until("dev to serve probe 1", 120_000, async () => ((await home()).body.startsWith("probe 1") ? true : undefined));
  const appV1 = readState(stateFile).resources.find((e) => e.type === APP && e.name === "myapp-dev-app")!;

  // Release 2: only the image (and the app container that runs it) changes.
  const second = await apply("twinstack-e2e/probe:2");
  const replaced = second.log.filter((l) => l.startsWith("+- replace"));
  expect(replaced).toEqual([
    // A new tag is a new name and a new registry digest (pullTriggers).
    "+- replace docker:index/remoteImage:RemoteImage myapp-dev-app-image (name, pullTriggers; create first)",
    expect.stringMatching(/^\+- replace docker:index\/container:Container myapp-dev-app \(image; create first\)$/),
  ]);
  expect(second.log.filter((l) => /^[+~-] /.test(l))).toEqual([
    // the old RemoteImage (keepLocally) and the old app container, after the program
    expect.stringMatching(/^- delete docker:index\/(container:Container myapp-dev-app|remoteImage:RemoteImage myapp-dev-app-image)$/),
    expect.stringMatching(/^- delete docker:index\/(container:Container myapp-dev-app|remoteImage:RemoteImage myapp-dev-app-image)$/),
  ]);
  expect((await home()).body).toMatch(/^probe 2/);
  const appV2 = readState(stateFile).resources.find((e) => e.type === APP && e.name === "myapp-dev-app")!;
  expect(appV2.id).not.toBe(appV1.id);
  expect(await appContainers()).toEqual([expect.stringContaining(appV2.id.slice(0, 12))]);

  // A release that never becomes healthy: the apply fails and reports it; release 2 still serves.
  const failed = await apply("twinstack-e2e/probe:bad").then(
    () => undefined,
    (err) => err,
  );
  expect(failed).toBeInstanceOf(ApplyError);
  expect((failed as ApplyError).message).toMatch(/myapp-dev-app.*healthy/s);
  expect((await home()).body).toMatch(/^probe 2/);
  expect(await appContainers()).toEqual([expect.stringContaining(appV2.id.slice(0, 12))]);
  expect(
    readState(stateFile)
      .resources.filter((e) => e.type === APP && e.name === "myapp-dev-app")
      .map((e) => e.id),
  ).toEqual([appV2.id]);

  // The next good apply converges (the failed release's image resource is cleaned up).
  const again = await apply("twinstack-e2e/probe:2");
  expect(again.log.some((l) => l.startsWith("+- replace docker:index/container:Container"))).toBe(false);
  expect((await home()).body).toMatch(/^probe 2/);

  await destroyStack({ stack: "dev", stateFile, handlers, log: (l) => progress(`release: ${l}`) });
  expect(await appContainers()).toEqual([]);
});

test("a moving tag (:main) pushed again is a release: the new image under the same name replaces the app", async () => {
  // CI pushes :main; here "pushing" retags the engine, which stands in for the registry.
  await docker(["tag", "twinstack-e2e/probe:1", "twinstack-e2e/probe:main"]);
  const first = await apply("twinstack-e2e/probe:main");
  ca = String(first.outputs.caCertificate);
  password = String(((first.outputs.basicAuthPasswords as SecretValue).value as Record<string, string>).dev);
  await until("dev to serve probe 1 under :main", 120_000, async () => ((await home()).body.startsWith("probe 1") ? true : undefined));

  // Nothing pushed: nothing to do for the app.
  const same = await apply("twinstack-e2e/probe:main");
  expect(same.log.filter((l) => l.startsWith("+- replace"))).toEqual([]);

  // A new build pushed under the same tag: its digest changed, so the image is re-pulled and the app replaced.
  await docker(["tag", "twinstack-e2e/probe:2", "twinstack-e2e/probe:main"]);
  const pushed = await apply("twinstack-e2e/probe:main");
  expect(pushed.log.filter((l) => l.startsWith("+- replace"))).toEqual([
    "+- replace docker:index/remoteImage:RemoteImage myapp-dev-app-image (pullTriggers; create first)",
    expect.stringMatching(/^\+- replace docker:index\/container:Container myapp-dev-app \(image; create first\)$/),
  ]);
  expect((await home()).body).toMatch(/^probe 2/);

  await destroyStack({ stack: "dev", stateFile, handlers, log: (l) => progress(`release: ${l}`) });
  await docker(["rmi", "twinstack-e2e/probe:main"]);
  expect(await appContainers()).toEqual([]);
});
