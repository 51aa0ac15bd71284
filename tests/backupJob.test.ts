// BackupJob under pulumi.runtime.setMocks (self-contained; does not use tests/harness.ts).
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

// The engine's wire marker for secret values, as the mock monitor hands inputs to newResource.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const registered: Registered[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call(args) {
      return args.inputs;
    },
  },
  "twinstack",
  "prod",
  false,
);

import * as docker from "@pulumi/docker";
import { BackupJob, BackupJobArgs } from "../components/backupJob";

const PASSWORD = "s3cret-backup-pw";

function isSecret(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Every string reachable without passing through a secret wrapper. */
function plainStrings(v: unknown): string[] {
  if (isSecret(v)) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(plainStrings);
  if (v && typeof v === "object") return Object.values(v).flatMap(plainStrings);
  return [];
}

function unwrap(v: unknown): any {
  return isSecret(v) ? v.value : v;
}

function outputValue<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

async function declare(extra: Partial<BackupJobArgs> = {}) {
  registered.length = 0;
  const provider = new docker.Provider("host", { host: "ssh://deploy@10.0.0.5" });
  const job = new BackupJob("gigi-prod-db", {
    provider,
    namePrefix: "gigi-prod",
    networkName: "gigi-prod-net",
    image: "postgres:16.4",
    connection: { host: "gigi-prod-db", port: 5432, user: "gigi", password: pulumi.output(PASSWORD), database: "gigi_prod" },
    keep: 7,
    intervalSeconds: 86400,
    limits: { cpus: 0.5, memoryMb: 256 },
    ...extra,
  });
  const outputs = { volumeName: await outputValue(job.volumeName), containerName: await outputValue(job.containerName) };
  // Let pending registrations drain.
  await new Promise((r) => setImmediate(r));
  return { job, outputs };
}

const containers = () => registered.filter((r) => r.type === "docker:index/container:Container");
const volumes = () => registered.filter((r) => r.type === "docker:index/volume:Volume");

test("declares the component, a backup volume and the loop container", async () => {
  const { outputs } = await declare();
  expect(registered.find((r) => r.type === "twinstack:index:BackupJob")?.name).toBe("gigi-prod-db");
  expect(volumes().map((v) => v.inputs.name)).toEqual(["gigi-prod-backups"]);
  expect(outputs).toEqual({ volumeName: "gigi-prod-backups", containerName: "gigi-prod-backup" });

  const [c] = containers();
  expect(c.inputs.name).toBe("gigi-prod-backup");
  expect(c.inputs.image).toBe("postgres:16.4");
  expect(c.inputs.restart).toBe("unless-stopped");
  expect(c.inputs.memory).toBe(256);
  expect(c.inputs.cpus).toBe("0.5");
  expect(c.inputs.networksAdvanced).toEqual([expect.objectContaining({ name: "gigi-prod-net" })]);
  expect(c.inputs.volumes).toEqual([expect.objectContaining({ volumeName: "gigi-prod-backups", containerPath: "/backups" })]);
});

test("the container runs backup-loop.sh, which runs the uploaded backup.sh with the keep setting", async () => {
  await declare();
  const [c] = containers();
  const uploads: { file: string; content: string; executable: boolean }[] = c.inputs.uploads;
  const repoScript = (f: string) => fs.readFileSync(path.join(__dirname, "..", "scripts", f), "utf8");
  const loop = uploads.find((u) => u.content === repoScript("backup-loop.sh"));
  const backup = uploads.find((u) => u.content === repoScript("backup.sh"));
  expect(loop?.executable).toBe(true);
  expect(backup?.executable).toBe(true);
  expect([...c.inputs.entrypoints, ...c.inputs.command]).toEqual(["/bin/sh", loop!.file]);

  const envs: string[] = unwrap(c.inputs.envs);
  expect(envs).toEqual(
    expect.arrayContaining([
      "BACKUP_KEEP=7",
      "BACKUP_INTERVAL_SECONDS=86400",
      "BACKUP_DIR=/backups",
      "BACKUP_PREFIX=gigi-prod",
      `BACKUP_SCRIPT=${backup!.file}`,
      "PGHOST=gigi-prod-db",
      "PGPORT=5432",
      "PGUSER=gigi",
      "PGDATABASE=gigi_prod",
    ]),
  );
});

test("the password reaches the container only as a secret", async () => {
  await declare();
  const [c] = containers();
  expect(isSecret(c.inputs.envs)).toBe(true);
  expect(unwrap(c.inputs.envs)).toContain(`PGPASSWORD=${PASSWORD}`);
  for (const r of registered) {
    expect(plainStrings(r.inputs).filter((s) => s.includes(PASSWORD))).toEqual([]);
  }
});

test("an existing volume is used as given, and limits are optional", async () => {
  const { outputs } = await declare({ volumeName: "shared-prod-backups", limits: undefined });
  expect(volumes()).toEqual([]);
  expect(outputs.volumeName).toBe("shared-prod-backups");
  const [c] = containers();
  expect(c.inputs.memory).toBeUndefined();
  expect(c.inputs.cpus).toBeUndefined();
});

test("invalid settings fail at construction", () => {
  const provider = new docker.Provider("host2", {});
  const base: BackupJobArgs = {
    provider,
    namePrefix: "gigi-prod",
    networkName: "n",
    image: "postgres:16",
    connection: { host: "h", port: 5432, user: "u", password: "p", database: "d" },
    keep: 7,
    intervalSeconds: 3600,
  };
  expect(() => new BackupJob("a", { ...base, keep: 0 })).toThrow(/keep/);
  expect(() => new BackupJob("b", { ...base, intervalSeconds: 1.5 })).toThrow(/intervalSeconds/);
  expect(() => new BackupJob("c", { ...base, namePrefix: "../x" })).toThrow(/namePrefix/);
});
