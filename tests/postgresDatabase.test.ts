// PostgresDatabase under the shared mocks harness: shared (postgresql provider) and dedicated
// (own container) modes, names per env, isolation grants, secrets and prod protection.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PostgresDatabase, PostgresDatabaseArgs, EXTENSIONS_INIT_PATH, PG_DATA_MOUNT } from "../components/postgresDatabase";
import { byType, one, planProgram, PlannedResource, SecretValue, plainStrings } from "./harness";

const ADMIN_PASSWORD = "adm1n-Secret-pw";
const T = {
  password: "random:index/randomPassword:RandomPassword",
  pgProvider: "pulumi:providers:postgresql",
  role: "postgresql:index/role:Role",
  database: "postgresql:index/database:Database",
  grant: "postgresql:index/grant:Grant",
  extension: "postgresql:index/extension:Extension",
  volume: "docker:index/volume:Volume",
  image: "docker:index/remoteImage:RemoteImage",
  container: "docker:index/container:Container",
};

function sharedArgs(env: string, extra: Partial<PostgresDatabaseArgs> = {}): PostgresDatabaseArgs {
  return {
    databaseName: `gigi_${env}`,
    mode: "shared",
    protect: env === "prod",
    extensions: ["pg_trgm", "uuid-ossp"],
    connectionLimit: 20,
    shared: {
      host: "10.0.0.10",
      port: 5432,
      adminUser: "twinstack_admin",
      adminPassword: ADMIN_PASSWORD,
      sslmode: "require",
      appHost: "databases-postgres",
      appPort: 5433,
    },
    ...extra,
  };
}

function dedicatedArgs(env: string, extra: Partial<NonNullable<PostgresDatabaseArgs["dedicated"]>> = {}): PostgresDatabaseArgs {
  return {
    databaseName: `gigi_${env}`,
    mode: "dedicated",
    protect: env === "prod",
    extensions: ["vector"],
    dedicated: {
      dockerProvider: new docker.Provider("host", { host: "unix:///var/run/docker.sock" }),
      networkName: `gigi-${env}-net`,
      image: "pgvector/pgvector:pg16",
      namePrefix: `gigi-${env}`,
      publishPort: 15432,
      limits: { cpus: 1, memoryMb: 512 },
      ...extra,
    },
  };
}

async function plan(stack: string, makeArgs: () => PostgresDatabaseArgs) {
  return planProgram(
    () => {
      const db = new PostgresDatabase(`gigi-${stack}-db`, makeArgs());
      return {
        databaseName: db.databaseName,
        roleName: db.roleName,
        password: db.password,
        connectionString: db.connectionString,
        appHost: db.appHost,
        appPort: db.appPort,
        admin: db.admin,
      };
    },
    { stack, config: {} },
  );
}

function generatedPassword(resources: PlannedResource[]): string {
  return String(one(resources, T.password).state.result);
}

function secretValue(v: unknown): unknown {
  expect(v).toBeInstanceOf(SecretValue);
  return (v as SecretValue).value;
}

describe("PostgresDatabase, shared mode", () => {
  it("names the role and database after the env, so dev and prod never share them", async () => {
    const dev = await plan("dev", () => sharedArgs("dev"));
    const prod = await plan("prod", () => sharedArgs("prod"));
    for (const [r, env] of [
      [dev, "dev"],
      [prod, "prod"],
    ] as const) {
      expect(one(r.resources, T.role).props.name).toBe(`gigi_${env}`);
      expect(one(r.resources, T.database).props.name).toBe(`gigi_${env}`);
      expect(one(r.resources, T.database).props.owner).toBe(`gigi_${env}`);
      expect(r.outputs.databaseName).toBe(`gigi_${env}`);
      expect(r.outputs.roleName).toBe(`gigi_${env}`);
    }
    expect(one(dev.resources, T.database).props.name).not.toBe(one(prod.resources, T.database).props.name);
    expect(one(dev.resources, T.role).props.name).not.toBe(one(prod.resources, T.role).props.name);
  });

  it("revokes CONNECT from PUBLIC and grants the env role CONNECT/CREATE/TEMPORARY", async () => {
    const { resources } = await plan("dev", () => sharedArgs("dev"));
    const grants = byType(resources, T.grant);
    const revoke = grants.find((g) => g.props.role === "public");
    expect(revoke?.props).toMatchObject({ database: "gigi_dev", objectType: "database", privileges: [] });
    const roleGrant = grants.find((g) => g.props.role === "gigi_dev");
    expect(roleGrant?.props).toMatchObject({ database: "gigi_dev", objectType: "database" });
    expect([...(roleGrant?.props.privileges as string[])].sort()).toEqual(["CONNECT", "CREATE", "TEMPORARY"]);
    // Sequenced, not concurrent, on the same database.
    expect(roleGrant?.dependencies).toContain(revoke?.urn);
  });

  it("talks to the server as a non-superuser admin through its own provider", async () => {
    const { resources } = await plan("dev", () => sharedArgs("dev"));
    const provider = one(resources, T.pgProvider);
    expect(provider.props).toMatchObject({ host: "10.0.0.10", port: "5432", username: "twinstack_admin", sslmode: "require", superuser: "false" });
    expect(provider.inputs.password).toBeInstanceOf(SecretValue);
    for (const type of [T.role, T.database, T.grant, T.extension]) {
      for (const r of byType(resources, type)) expect(r.provider).toContain(provider.urn);
    }
  });

  it("generates a long URL-safe password and keeps it and the connection string secret", async () => {
    const { resources, outputs } = await plan("dev", () => sharedArgs("dev"));
    const pwResource = one(resources, T.password);
    expect(Number(pwResource.props.length)).toBeGreaterThanOrEqual(32);
    const password = generatedPassword(resources);
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(encodeURIComponent(password)).toBe(password);

    expect(secretValue(outputs.password)).toBe(password);
    const url = secretValue(outputs.connectionString);
    expect(url).toBe(`postgres://gigi_dev:${password}@databases-postgres:5433/gigi_dev?sslmode=require`);
    expect(one(resources, T.role).inputs.password).toBeInstanceOf(SecretValue);
    expect(one(resources, T.role).props.password).toBe(password);

    const admin = secretValue(outputs.admin) as Record<string, unknown>;
    expect(admin).toEqual({ host: "10.0.0.10", port: 5432, user: "twinstack_admin", password: ADMIN_PASSWORD, sslmode: "require" });

    for (const r of resources) {
      for (const s of plainStrings(r.inputs)) {
        expect(s).not.toContain(password);
        expect(s).not.toContain(ADMIN_PASSWORD);
      }
    }
    for (const s of plainStrings(outputs)) {
      expect(s).not.toContain(password);
      expect(s).not.toContain(ADMIN_PASSWORD);
    }
  });

  it("falls back to host/port for app connections when no appHost is given", async () => {
    const { outputs } = await plan("dev", () => {
      const a = sharedArgs("dev");
      return { ...a, shared: { ...a.shared!, appHost: undefined, appPort: undefined } };
    });
    expect(outputs.appHost).toBe("10.0.0.10");
    expect(outputs.appPort).toBe(5432);
    expect(String(secretValue(outputs.connectionString))).toMatch(/@10\.0\.0\.10:5432\/gigi_dev\?sslmode=require$/);
  });

  it("protects and retains the prod role and database, and nothing of dev", async () => {
    const prod = await plan("prod", () => sharedArgs("prod"));
    const dev = await plan("dev", () => sharedArgs("dev"));
    for (const type of [T.role, T.database]) {
      expect(one(prod.resources, type).opts).toMatchObject({ protect: true, retainOnDelete: true });
      expect(one(dev.resources, type).opts).toMatchObject({ protect: false, retainOnDelete: false });
    }
    for (const r of dev.resources) expect(r.opts.protect).toBe(false);
  });

  it("declares the extensions in the env database, with the admin allowed in", async () => {
    const { resources } = await plan("dev", () => sharedArgs("dev"));
    const exts = byType(resources, T.extension);
    expect(exts.map((e) => e.props.name).sort()).toEqual(["pg_trgm", "uuid-ossp"]);
    for (const e of exts) expect(e.props.database).toBe("gigi_dev");
    const adminGrant = byType(resources, T.grant).find((g) => g.props.role === "twinstack_admin");
    expect(adminGrant?.props.privileges).toEqual(["CONNECT", "CREATE"]);
    for (const e of exts) expect(e.dependencies).toContain(adminGrant?.urn);
  });

  it("declares no extension or admin grant when none are asked for", async () => {
    const { resources } = await plan("dev", () => sharedArgs("dev", { extensions: [] }));
    expect(byType(resources, T.extension)).toHaveLength(0);
    expect(
      byType(resources, T.grant)
        .map((g) => g.props.role)
        .sort(),
    ).toEqual(["gigi_dev", "public"]);
  });

  it("passes the template and connection limit through (previews clone dev)", async () => {
    const { resources } = await plan("preview-feature-x", () =>
      sharedArgs("preview", { databaseName: "gigi_preview_feature_x", template: pulumi.output("gigi_dev"), connectionLimit: 5 }),
    );
    const db = one(resources, T.database);
    expect(db.props).toMatchObject({ name: "gigi_preview_feature_x", template: "gigi_dev", connectionLimit: 5 });
    expect(one(resources, T.role).props.connectionLimit).toBe(5);
  });

  it("defaults the connection limit to none", async () => {
    const { resources } = await plan("dev", () => sharedArgs("dev", { connectionLimit: undefined }));
    expect(one(resources, T.database).props.connectionLimit).toBe(-1);
    expect(one(resources, T.database).props.template).toBeUndefined();
  });
});

describe("PostgresDatabase, dedicated mode", () => {
  it("declares a data volume and a healthchecked, limited postgres container on the env network", async () => {
    const { resources } = await plan("dev", () => dedicatedArgs("dev"));
    expect(byType(resources, T.pgProvider)).toHaveLength(0);
    expect(byType(resources, T.role)).toHaveLength(0);

    const volume = one(resources, T.volume);
    expect(volume.props.name).toBe("gigi-dev-pgdata");
    expect(one(resources, T.image).props.name).toBe("pgvector/pgvector:pg16");

    const c = one(resources, T.container);
    expect(c.props.name).toBe("gigi-dev-postgres");
    expect(c.props.networksAdvanced).toEqual([{ name: "gigi-dev-net", aliases: ["postgres"] }]);
    expect(c.props.volumes).toEqual([{ volumeName: "gigi-dev-pgdata", containerPath: PG_DATA_MOUNT }]);
    expect(c.props.restart).toBe("unless-stopped");
    expect(c.props.memory).toBe(512);
    expect(c.props.cpus).toBe("1");
    expect(c.props.ports).toEqual([{ internal: 5432, external: 15432, ip: "127.0.0.1" }]);
    const hc = c.props.healthcheck as { tests: string[] };
    expect(hc.tests.slice(0, 2)).toEqual(["CMD", "pg_isready"]);
    expect(hc.tests.join(" ")).toContain("-U gigi_dev -d gigi_dev");
    expect(c.opts.deleteBeforeReplace).toBe(true);
    expect(c.provider).toContain(one(resources, "pulumi:providers:docker").urn);
  });

  it("sets POSTGRES_PASSWORD only as a secret, and the user and database to the env name", async () => {
    const { resources, outputs } = await plan("dev", () => dedicatedArgs("dev"));
    const password = generatedPassword(resources);
    const c = one(resources, T.container);
    const envs = c.inputs.envs as unknown[];
    expect(envs).toContain("POSTGRES_USER=gigi_dev");
    expect(envs).toContain("POSTGRES_DB=gigi_dev");
    const secrets = envs.filter((e) => e instanceof SecretValue) as SecretValue[];
    expect(secrets.map((s) => s.value)).toEqual([`POSTGRES_PASSWORD=${password}`]);
    for (const s of plainStrings(c.inputs)) {
      expect(s).not.toContain("POSTGRES_PASSWORD");
      expect(s).not.toContain(password);
    }
    for (const r of resources) for (const s of plainStrings(r.inputs)) expect(s).not.toContain(password);

    expect(outputs.appHost).toBe("postgres");
    expect(outputs.appPort).toBe(5432);
    expect(secretValue(outputs.connectionString)).toBe(`postgres://gigi_dev:${password}@postgres:5432/gigi_dev?sslmode=disable`);
    expect(secretValue(outputs.admin)).toEqual({ host: "127.0.0.1", port: 15432, user: "gigi_dev", password, sslmode: "disable" });
  });

  it("uploads an extensions init script, and none without extensions", async () => {
    const withExt = await plan("dev", () => dedicatedArgs("dev"));
    const uploads = one(withExt.resources, T.container).props.uploads as { file: string; content: string; executable: boolean }[];
    expect(uploads).toHaveLength(1);
    expect(uploads[0].file).toBe(EXTENSIONS_INIT_PATH);
    expect(uploads[0].content).toContain("\nextensions='vector'\n");
    expect(uploads[0].executable).toBe(true);

    const without = await plan("dev", () => ({ ...dedicatedArgs("dev"), extensions: [] }));
    expect(one(without.resources, T.container).props.uploads).toBeUndefined();
  });

  it("reaches the admin through the container name when no port is published", async () => {
    const { outputs } = await plan("dev", () => dedicatedArgs("dev", { publishPort: undefined, limits: undefined }));
    const admin = secretValue(outputs.admin) as Record<string, unknown>;
    expect(admin.host).toBe("gigi-dev-postgres");
    expect(admin.port).toBe(5432);
  });

  it("protects and retains the prod data volume, not the dev one", async () => {
    const prod = await plan("prod", () => dedicatedArgs("prod"));
    const dev = await plan("dev", () => dedicatedArgs("dev"));
    expect(one(prod.resources, T.volume).opts).toMatchObject({ protect: true, retainOnDelete: true });
    expect(one(prod.resources, T.volume).props.name).toBe("gigi-prod-pgdata");
    expect(one(dev.resources, T.volume).opts).toMatchObject({ protect: false, retainOnDelete: false });
    expect(one(prod.resources, T.container).props.name).not.toBe(one(dev.resources, T.container).props.name);
  });
});

describe("PostgresDatabase validation", () => {
  const construct = (args: PostgresDatabaseArgs) => () => new PostgresDatabase("x", args);

  it.each(["Gigi_dev", "gigi-dev", "1gigi", "", "a".repeat(64), "gigi dev", "gigi_dev;drop"])("rejects databaseName %j", async (databaseName) => {
    await expect(planProgram(construct(sharedArgs("dev", { databaseName })), { stack: "dev", config: {} })).rejects.toThrow(/databaseName/);
  });

  it("accepts a 63-character name", async () => {
    const name = "g" + "_".repeat(62);
    const { resources } = await planProgram(construct(sharedArgs("dev", { databaseName: name })), { stack: "dev", config: {} });
    expect(one(resources, T.database).props.name).toBe(name);
  });

  it("rejects a mode without its settings, and shared-only options in dedicated mode", async () => {
    const plan = (args: PostgresDatabaseArgs) => planProgram(construct(args), { stack: "dev", config: {} });
    await expect(plan({ ...sharedArgs("dev"), shared: undefined })).rejects.toThrow(/needs args.shared/);
    await expect(plan({ ...dedicatedArgs("dev"), dedicated: undefined })).rejects.toThrow(/needs args.dedicated/);
    await expect(plan({ ...dedicatedArgs("dev"), template: "gigi_dev" })).rejects.toThrow(/template needs mode "shared"/);
    await expect(plan({ ...dedicatedArgs("dev"), connectionLimit: 10 })).rejects.toThrow(/connectionLimit needs mode "shared"/);
    await expect(plan({ ...sharedArgs("dev"), extensions: ["pg_trgm; drop"] })).rejects.toThrow(/not a valid extension name/);
    await expect(plan(dedicatedArgs("dev", { publishPort: 70000 }))).rejects.toThrow(/publishPort/);
  });
});
