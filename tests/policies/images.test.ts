import { mutableImageProblem } from "../../policy/images";
import { cleanupProjects, devProdProject, of, resource, run, service } from "./helpers";

const POLICY = "prod-images-immutable";
afterAll(cleanupProjects);
const DIGEST = "sha256:" + "0".repeat(64);

describe("prod-images-immutable (rule 4)", () => {
  it.each([`ghcr.io/gigi/app@${DIGEST}`, "postgres:16-alpine", "registry.local:5000/app:v1.2.3", "browserless/chrome:1.61-puppeteer-21.4.1", "eclipse-mosquitto:2"])(
    "accepts %s",
    (ref) => expect(mutableImageProblem(ref)).toBeUndefined(),
  );
  it.each([
    ["ghcr.io/gigi/app:latest", 'uses the moving tag ":latest"'],
    ["ghcr.io/gigi/app", "has no tag, which means :latest"],
    ["registry.local:5000/app", "has no tag, which means :latest"],
    ["ghcr.io/gigi/app:dev-main", 'uses the moving tag ":dev-main"'],
    ["ghcr.io/gigi/app:preview-feat-x", 'uses the moving tag ":preview-feat-x"'],
    ["ghcr.io/gigi/app:1.2.3-dev", 'uses the tag ":1.2.3-dev", a dev build'],
    ["ghcr.io/gigi/app:alpine", 'uses the tag ":alpine", which is not a release version'],
  ])("rejects %s", (ref, problem) => expect(mutableImageProblem(ref)).toBe(problem));

  it("passes pinned prod images and ignores dev's", () => {
    const dir = devProdProject();
    const prod = run([resource("prod", "docker:index/remoteImage:RemoteImage", "img", { name: `ghcr.io/gigi/app@${DIGEST}` }), service("prod", "gigi-prod-app")], {
      stack: "prod",
      dir,
    });
    expect(of(prod, POLICY)).toEqual([]);
    const dev = run([resource("dev", "docker:index/remoteImage:RemoteImage", "img", { name: "ghcr.io/gigi/app:latest" })], { stack: "dev", dir });
    expect(of(dev, POLICY)).toEqual([]);
  });

  it("flags a prod :latest image on a RemoteImage and on a swarm service", () => {
    const dir = devProdProject();
    const bad = of(
      run(
        [
          resource("prod", "docker:index/remoteImage:RemoteImage", "img", { name: "ghcr.io/gigi/app:latest" }),
          service("prod", "gigi-prod-worker", { role: "worker", taskSpec: { containerSpec: { image: "ghcr.io/gigi/app:dev-abc" } } }),
        ],
        { stack: "prod", dir },
      ),
      POLICY,
    );
    expect(bad.map((v) => v.message)).toEqual([
      'prod image "ghcr.io/gigi/app:latest" uses the moving tag ":latest": pin a digest (ghcr.io/gigi/app@sha256:<digest>) or a release tag (e.g. ghcr.io/gigi/app:1.2.3); for the app, `npm run promote -- <version>` pins dev\'s tested digest into Pulumi.prod.yaml',
      'prod image "ghcr.io/gigi/app:dev-abc" uses the moving tag ":dev-abc": pin a digest (ghcr.io/gigi/app@sha256:<digest>) or a release tag (e.g. ghcr.io/gigi/app:1.2.3); for the app, `npm run promote -- <version>` pins dev\'s tested digest into Pulumi.prod.yaml',
    ]);
  });
});
