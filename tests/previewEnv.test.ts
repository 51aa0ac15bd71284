import * as pulumi from "@pulumi/pulumi";
import { checkPreviewHandoff, CLONE_COMMAND, PreviewEnv, PreviewEnvArgs, PREVIEW_APP_NAME_MAX_LENGTH } from "../components/previewEnv";
import { PreviewHandoff } from "../model/handoff";
import { byType, one, planProgram, PlannedResource, SecretValue } from "./harness";

const ADMIN_PASSWORD = "adm1nS3cretPW";

const HANDOFF: PreviewHandoff = {
  appName: "gigi",
  dockerHost: "ssh://deploy@dev-host.lan",
  dockerSshOpts: ["-o", "StrictHostKeyChecking=accept-new"],
  networkName: "gigi-dev-net",
  postgres: {
    host: "10.0.0.5",
    port: 5432,
    appHost: "databases-postgres",
    appPort: 5432,
    adminUser: "postgres",
    adminPassword: ADMIN_PASSWORD,
    sslmode: "disable",
    devDatabase: "gigi_dev",
  },
  proxy: { label: "gigi-dev", previewsDir: "/etc/caddy/previews" },
  domain: "dev.gigi.casa",
  imageRepository: "registry.gigi.casa/gigi/gigi",
  app: { port: 3000, healthPath: "/healthz", env: { APP_ENV: "preview", LOG_LEVEL: "debug", BASE_PATH: "/ignored" } },
};

const T = {
  component: "twinstack:index:PreviewEnv",
  dockerProvider: "pulumi:providers:docker",
  db: "twinstack:index:PostgresDatabase",
  image: "docker:index/remoteImage:RemoteImage",
  container: "docker:index/container:Container",
  command: "command:local:Command",
};

type Overrides = Partial<Omit<PreviewEnvArgs, "handoff">> & { handoff?: PreviewHandoff };

/** Plans a preview the way a preview stack does: the handoff through a StackReference to "dev". */
async function plan(overrides: Overrides = {}) {
  const handoff = overrides.handoff ?? HANDOFF;
  let env: PreviewEnv | undefined;
  const result = await planProgram(
    () => {
      const ref = new pulumi.StackReference("dev");
      const fromRef = ref.requireOutput("previewHandoff") as pulumi.Output<PreviewHandoff>;
      env = new PreviewEnv("preview", {
        branch: overrides.branch ?? "feature/x",
        // The real dev stack exports the handoff as a secret; the mocks' StackReference does not.
        handoff: pulumi.secret(fromRef),
        cloneDevDatabase: overrides.cloneDevDatabase ?? false,
        limits: overrides.limits ?? { cpus: 0.5, memoryMb: 512 },
      });
      return { url: env.url, slug: env.slug, databaseName: env.databaseName, image: env.image };
    },
    { stack: "preview-x", config: {}, stackOutputs: { dev: { previewHandoff: handoff } } },
  );
  return { ...result, env: env! };
}

/** Everything the component declared (its whole subtree). */
function subtree(resources: PlannedResource[], rootUrn: string): PlannedResource[] {
  const urns = new Set([rootUrn]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of resources) if (r.parent && urns.has(r.parent) && !urns.has(r.urn)) (urns.add(r.urn), (grew = true));
  }
  return resources.filter((r) => urns.has(r.urn));
}

/** Physical names a preview claims on the shared dev host, DB server and proxy. */
function physicalNames(resources: PlannedResource[]) {
  const container = one(resources, T.container);
  const route = one(resources, T.command);
  const routeFile = String(route.props.create).match(/^slug='([^']+)'/m)![1];
  return {
    container: String(container.inputs.name),
    alias: (container.inputs.networksAdvanced as { aliases: string[] }[])[0].aliases[0],
    database: String(one(resources, "postgresql:index/database:Database").inputs.name),
    role: String(one(resources, "postgresql:index/role:Role").inputs.name),
    routeFile: `${routeFile}.caddy`,
  };
}

describe("PreviewEnv", () => {
  it("declares exactly a docker provider, a database, the image, the container and the route", async () => {
    const { resources } = await plan();
    const component = one(resources, T.component);
    const direct = resources
      .filter((r) => r.parent === component.urn)
      .map((r) => r.type)
      .sort();
    // Plus the preview's own SESSION_SECRET and JWT_SECRET (model/appContract.ts).
    const password = "random:index/randomPassword:RandomPassword";
    expect(direct).toEqual([T.command, T.container, T.image, T.db, T.dockerProvider, password, password].sort());

    // The database component's own children: provider, password, role, database, two grants.
    const db = one(resources, T.db);
    expect(
      resources
        .filter((r) => r.parent === db.urn)
        .map((r) => r.type)
        .sort(),
    ).toEqual(
      [
        "pulumi:providers:postgresql",
        "random:index/randomPassword:RandomPassword",
        "postgresql:index/role:Role",
        "postgresql:index/database:Database",
        "postgresql:index/grant:Grant",
        "postgresql:index/grant:Grant",
      ].sort(),
    );
    // Nothing outside the component (the StackReference is a read, not a registration).
    const tree = subtree(resources, component.urn);
    expect(resources.filter((r) => !tree.includes(r)).map((r) => r.type)).toEqual([]);
    expect(tree).toHaveLength(1 + 7 + 6);
  });

  it("protects nothing and keeps nothing on delete", async () => {
    const { resources } = await plan();
    for (const r of resources) {
      expect({ name: r.name, protect: r.opts.protect, retain: r.opts.retainOnDelete }).toEqual({ name: r.name, protect: false, retain: false });
    }
  });

  it("talks to the dev host through its own docker provider", async () => {
    const { resources } = await plan();
    const provider = one(resources, T.dockerProvider);
    expect(provider.inputs.host).toBe("ssh://deploy@dev-host.lan");
    // Provider inputs other than strings reach the engine JSON-encoded.
    expect(JSON.parse(String(provider.inputs.sshOpts))).toEqual(["-o", "StrictHostKeyChecking=accept-new"]);
    const providerRef = `${provider.urn}::${provider.name}-provider-id`;
    expect(one(resources, T.image).provider).toBe(providerRef);
    expect(one(resources, T.container).provider).toBe(providerRef);
  });

  it("checks the preview's health without tools in its image: the dev host's probe volume, or the app's own command (issue 13)", async () => {
    const probed = one((await plan({ handoff: { ...HANDOFF, app: { ...HANDOFF.app, probeVolume: "gigi-dev-probe" } } })).resources, T.container);
    expect((probed.inputs.healthcheck as { tests: string[] }).tests).toEqual([
      "CMD",
      "/.twinstack-probe/busybox",
      "wget",
      "-q",
      "-O",
      "/dev/null",
      "http://127.0.0.1:3000/healthz",
    ]);
    expect(probed.inputs.volumes).toEqual([{ volumeName: "gigi-dev-probe", containerPath: "/.twinstack-probe", readOnly: true }]);
    const own = one((await plan({ handoff: { ...HANDOFF, app: { ...HANDOFF.app, healthCheckCommand: ["node", "hc.js"] } } })).resources, T.container);
    expect((own.inputs.healthcheck as { tests: string[] }).tests).toEqual(["CMD", "node", "hc.js"]);
  });

  it("runs <repo>:preview-<slug> on the dev network with limits, env, health check and wait", async () => {
    const { resources, outputs, env } = await plan();
    expect(env.slug).toMatch(/^feature-x-[0-9a-f]{6}$/);
    const slug = env.slug;
    expect(one(resources, T.image).inputs.name).toBe(`registry.gigi.casa/gigi/gigi:preview-${slug}`);
    expect(outputs.image).toBe(`registry.gigi.casa/gigi/gigi:preview-${slug}`);

    const c = one(resources, T.container);
    expect(c.inputs.name).toBe(`gigi-preview-${slug}`);
    expect(c.inputs.networksAdvanced).toEqual([{ name: "gigi-dev-net", aliases: [`preview-${slug}`] }]);
    expect(c.inputs.cpus).toBe("0.5");
    expect(c.inputs.memory).toBe(512);
    expect(c.inputs.wait).toBe(true);
    expect(c.dependencies).toContain(one(resources, T.image).urn);
    const health = c.inputs.healthcheck as { tests: string[] };
    expect(health.tests[0]).toBe("CMD-SHELL");
    expect(health.tests[1]).toContain("http://127.0.0.1:3000/healthz");

    // The env list holds the database password, so it is secret as a whole.
    expect(c.inputs.envs).toBeInstanceOf(SecretValue);
    const envs = c.props.envs as string[];
    expect(envs).toContain("APP_ENV=preview");
    expect(envs).toContain("LOG_LEVEL=debug");
    expect(envs).toContain(`BASE_PATH=/preview/${slug}`);
    expect(envs.filter((e) => e.startsWith("BASE_PATH="))).toHaveLength(1);
    const url = envs.find((e) => e.startsWith("DATABASE_URL="))!;
    expect(url).toMatch(
      new RegExp(
        `^DATABASE_URL=postgres://gigi_preview_${slug.replace(/-/g, "_")}:[A-Za-z0-9]+@databases-postgres:5432/gigi_preview_${slug.replace(/-/g, "_")}\\?sslmode=disable$`,
      ),
    );
  });

  it("creates <app>_preview_<slug> on the dev Postgres, cloned from the dev database only when asked", async () => {
    const plain = await plan();
    const ident = plain.env.slug.replace(/-/g, "_");
    const db = one(plain.resources, "postgresql:index/database:Database");
    expect(db.inputs.name).toBe(`gigi_preview_${ident}`);
    expect(db.inputs.template ?? null).toBeNull();
    expect(plain.outputs.databaseName).toBe(`gigi_preview_${ident}`);
    const pg = one(plain.resources, "pulumi:providers:postgresql");
    expect(pg.inputs.host).toBe("10.0.0.5");
    expect(pg.inputs.password).toBeInstanceOf(SecretValue);

    // Issue 13: cloned by dump/restore as the app roles (scripts/clone-db.sh), never TEMPLATE, which
    // fails while the dev app is connected; dev's extensions are created by the admin first.
    const devUrl = "postgres://gigi_dev:dev-role-pw@databases-postgres:5432/gigi_dev";
    const cloned = await plan({
      cloneDevDatabase: true,
      handoff: { ...HANDOFF, postgres: { ...HANDOFF.postgres, devDatabaseUrl: devUrl, clientImage: "postgres:17-alpine", extensions: ["pg_trgm"] } },
    });
    expect(one(cloned.resources, "postgresql:index/database:Database").inputs.template ?? null).toBeNull();
    expect(one(cloned.resources, "postgresql:index/extension:Extension").inputs.name).toBe("pg_trgm");
    const cmd = cloned.resources.find((r) => r.type === T.command && r.name.endsWith("-clone"))!;
    expect(cmd.inputs.create).toBe(CLONE_COMMAND);
    const env = cmd.inputs.environment as Record<string, unknown>;
    expect(env.CLONE_SOURCE_URL).toBeInstanceOf(SecretValue);
    expect(env.DATABASE_URL).toBeInstanceOf(SecretValue);
    expect((cmd.props.environment as Record<string, string>).CLIENT_IMAGE).toBe("postgres:17-alpine");
    for (const r of cloned.resources) if (r !== cmd) expect(JSON.stringify(r.inputs)).not.toContain("dev-role-pw");
    // The preview app starts only after its data is there.
    expect(one(cloned.resources, T.container).opts.dependsOn).toContain(cmd.urn);
    // A dev stack from before this handoff field cannot be cloned from: a clear error.
    expect(() => checkPreviewHandoff(HANDOFF, "PreviewEnv x", { cloneDevDatabase: true })).toThrow(/devDatabaseUrl are missing, which preview.cloneDevDatabase needs/);
    expect(() => checkPreviewHandoff(HANDOFF, "PreviewEnv x")).not.toThrow();
  });

  it("keeps the dev admin password secret everywhere, and the rest of the handoff readable", async () => {
    const { resources, outputs } = await plan();
    for (const r of resources) expect(JSON.stringify(r.inputs)).not.toContain(ADMIN_PASSWORD);
    expect(JSON.stringify(outputs)).not.toContain(ADMIN_PASSWORD);
    expect(outputs.url).not.toBeInstanceOf(SecretValue);
    expect(outputs.image).not.toBeInstanceOf(SecretValue);
    expect(outputs.databaseName).not.toBeInstanceOf(SecretValue);
    expect(one(resources, T.container).inputs.name).not.toBeInstanceOf(SecretValue);
  });

  it("adds the route with a command whose create/delete scripts install and remove <slug>.caddy", async () => {
    const { resources, outputs, env } = await plan();
    const slug = env.slug;
    expect(outputs.url).toBe(`https://dev.gigi.casa/preview/${slug}/`);
    const route = one(resources, T.command);
    expect(route.inputs.environment).toEqual({ DOCKER_HOST: "ssh://deploy@dev-host.lan" });
    const create = String(route.inputs.create);
    const del = String(route.inputs.delete);
    for (const script of [create, del]) {
      expect(script).toContain(`slug='${slug}'`);
      expect(script).toContain("previews_dir='/etc/caddy/previews'");
      expect(script).toContain("proxy_label='gigi-dev'");
      expect(script).toContain("\nlabel_key='twinstack.proxy'\n");
      expect(script).toContain('docker ps -q --filter "label=$label_key=$proxy_label"');
    }
    expect(create).toContain(`reverse_proxy preview-${slug}:3000`);
    expect(create).toContain("caddy reload --config");
    // The file is <previews_dir>/<slug>.caddy: create passes both to the in-container step.
    expect(create).toContain('sh -c "$install_snippet" sh "$previews_dir" "$slug"');
    expect(create).toContain('mv "$1/$2.caddy.tmp" "$1/$2.caddy"');
    expect(del).toContain('rm -f "$previews_dir/$slug.caddy"');
    // Changes to the snippet re-run it; the old delete runs before the new create.
    expect(String((route.inputs.triggers as string[])[0])).toContain(`handle_path /preview/${slug}/*`);
    expect(route.opts.deleteBeforeReplace).toBe(true);
    // Only once the container is healthy (and removed before it on destroy).
    expect(route.dependencies).toContain(one(resources, T.container).urn);
  });

  it("gives feature/x and Feature/X disjoint physical names", async () => {
    const a = await plan({ branch: "feature/x" });
    const b = await plan({ branch: "Feature/X" });
    expect(a.env.slug).not.toBe(b.env.slug);
    const na = physicalNames(a.resources);
    const nb = physicalNames(b.resources);
    // No name of one preview is any name of the other (database and role share a name by design).
    const setA = new Set(Object.values(na));
    expect(Object.values(nb).filter((n) => setA.has(n))).toEqual([]);
    expect(na.database).toBe(na.role);
  });

  it("keeps database and role names within 63 characters for a 200-character branch", async () => {
    const branch = `feature/${"a-very-long-branch-name-".repeat(8)}end`.slice(0, 200);
    expect(branch).toHaveLength(200);
    const longApp = { ...HANDOFF, appName: "a".repeat(PREVIEW_APP_NAME_MAX_LENGTH) };
    const { resources, env } = await plan({ branch, handoff: longApp });
    const names = physicalNames(resources);
    expect(names.database.length).toBeLessThanOrEqual(63);
    expect(names.role.length).toBeLessThanOrEqual(63);
    expect(names.database).toBe(`${"a".repeat(PREVIEW_APP_NAME_MAX_LENGTH)}_preview_${env.slug.replace(/-/g, "_")}`);
    expect(env.slug.length).toBeLessThanOrEqual(63);
    expect(env.slug).toMatch(/^[a-z][a-z0-9-]*-[0-9a-f]{6}$/);
  });

  it("checks the handoff: an app name that cannot fit the database name budget is refused", () => {
    // Checked when the handoff resolves (an error inside an apply fails the update); tested directly
    // because under the mocks such an error is an unhandled rejection.
    expect(() => checkPreviewHandoff(HANDOFF, "t")).not.toThrow();
    expect(() => checkPreviewHandoff({ ...HANDOFF, appName: "a".repeat(PREVIEW_APP_NAME_MAX_LENGTH + 1) }, "t")).toThrow(/appName .* longer than 22/);
    expect(() => checkPreviewHandoff({ ...HANDOFF, imageRepository: "registry/app:latest" }, "t")).toThrow(/imageRepository/);
    expect(() => checkPreviewHandoff({ ...HANDOFF, domain: "Dev Domain" }, "t")).toThrow(/domain/);
    expect(() => checkPreviewHandoff({ ...HANDOFF, dockerHost: "dev-host" }, "t")).toThrow(/dockerHost/);
    // Never echoes the admin password.
    try {
      checkPreviewHandoff({ ...HANDOFF, app: { ...HANDOFF.app, port: 0 } }, "t");
    } catch (err) {
      expect(String(err)).not.toContain(ADMIN_PASSWORD);
    }
  });

  it("writes an app name with '-' as '_' in the database name, as the dev database does", async () => {
    const { resources, env } = await plan({ branch: "my-feature", handoff: { ...HANDOFF, appName: "ct-forge" } });
    expect(env.slug).toBe("my-feature");
    const names = physicalNames(resources);
    expect(names.database).toBe("ct_forge_preview_my_feature");
    expect(names.container).toBe("ct-forge-preview-my-feature");
  });

  it("keeps a branch that already is a short slug as its slug", async () => {
    const { env } = await plan({ branch: "my-feature" });
    expect(env.slug).toBe("my-feature");
  });

  it("refuses missing limits", async () => {
    await expect(plan({ limits: { cpus: 0, memoryMb: 512 } })).rejects.toThrow(/limits.cpus/);
    await expect(plan({ limits: { cpus: 1, memoryMb: 0.5 } })).rejects.toThrow(/limits.memoryMb/);
  });
});
