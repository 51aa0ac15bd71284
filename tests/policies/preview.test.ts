import { cleanupProjects, container, devProdProject, dockerProvider, of, resource, run } from "./helpers";

const POLICY = "preview-stays-on-dev";
const STACK = "preview-feat-x";
afterAll(cleanupProjects);

// DEV_YAML: dev runs on unix:///var/run/docker.sock with a dedicated Postgres on 127.0.0.1:15432.
// PROD_YAML: prod runs on ssh://deploy@10.0.0.5 with the shared server 10.0.0.20:5432.
function previewResources(opts: { dockerHost?: string; network?: string; pgHost?: string; pgPort?: number; dbName?: string; protect?: boolean } = {}) {
  const docker = dockerProvider(STACK, "preview-docker", opts.dockerHost ?? "unix:///var/run/docker.sock");
  const pg = resource(STACK, "pulumi:providers:postgresql", "preview-db-pg", { host: opts.pgHost ?? "127.0.0.1", port: opts.pgPort ?? 15432 });
  return [
    docker,
    pg,
    resource(STACK, "postgresql:index/database:Database", "preview-db", { name: opts.dbName ?? "gigi_preview_feat_x" }, { provider: pg, protect: opts.protect }),
    container(STACK, "preview-app", { name: "gigi-preview-feat-x", cpus: "0.5", memory: 512, networksAdvanced: [{ name: opts.network ?? "gigi-dev-net" }] }, { provider: docker }),
  ];
}

describe("preview-stays-on-dev (rule 7)", () => {
  it("passes a preview on the dev host, network and database server", () => {
    const dir = devProdProject();
    expect(of(run(previewResources(), { stack: STACK, dir }), POLICY)).toEqual([]);
  });

  it("flags a preview pointing at the prod host", () => {
    const dir = devProdProject();
    const v = of(run(previewResources({ dockerHost: "ssh://root@10.0.0.5" }), { stack: STACK, dir }), POLICY);
    expect(v.map((x) => x.message)).toEqual([
      'preview docker provider "preview-docker" points at prod\'s host ssh://root@10.0.0.5: previews run on the dev host unix:///var/run/docker.sock',
    ]);
  });

  it("flags the prod network, prod's database server, a non-preview database and protection", () => {
    const dir = devProdProject();
    const v = of(run(previewResources({ network: "gigi-prod-net", pgHost: "10.0.0.20", pgPort: 5432, dbName: "gigi_feat", protect: true }), { stack: STACK, dir }), POLICY);
    expect(v.map((x) => x.message)).toEqual([
      'preview resource "gigi_feat" (postgresql:index/database:Database) is protected: a preview must be removable by `pulumi destroy`; drop protect',
      'preview workload "gigi-preview-feat-x" joins the prod network "gigi-prod-net": join the dev network instead',
      'preview postgresql provider "preview-db-pg" connects to prod\'s database server 10.0.0.20:5432: use the dev server 127.0.0.1:15432 or localhost:15432',
      'preview database "gigi_feat" does not carry the preview token: name it gigi_preview_feat_x',
    ]);
  });

  it("flags docker resources on the default provider, and an unknown dev stack", () => {
    const dir = devProdProject();
    const lone = container(STACK, "preview-app", { name: "gigi-preview-feat-x", cpus: "0.5", memory: 512, networksAdvanced: [{ name: "gigi-dev-net" }] });
    expect(of(run([lone], { stack: STACK, dir }), POLICY).map((x) => x.message)).toEqual([
      'preview docker:index/container:Container "gigi-preview-feat-x" uses the default docker provider: give it a provider whose host is the dev host unix:///var/run/docker.sock',
    ]);
    const orphan = devProdProject({ [`Pulumi.${STACK}.yaml`]: "config:\n  twinstack:preview:\n    devStack: acme/twinstack/staging\n" });
    expect(of(run(previewResources(), { stack: STACK, dir: orphan }), POLICY).map((x) => x.message)).toEqual([
      expect.stringMatching(/^cannot read the dev stack this preview builds on \(Pulumi\.staging\.yaml: /),
    ]);
  });

  it("leaves prod and dev stacks alone", () => {
    const dir = devProdProject();
    expect(of(run([resource("dev", "docker:index/volume:Volume", "v", { name: "gigi-dev-v" }, { protect: true })], { stack: "dev", dir }), POLICY)).toEqual([]);
  });
});
