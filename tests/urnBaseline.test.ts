// Every default and example stack declares the same resources, with the same URNs and inputs, as
// the committed baseline (tests/baselines/, written by `npm run urns-update`). A rename without
// `aliases` or an accidental input change fails here with one line per difference; an intended
// change is committed with the regenerated baseline, so its diff is reviewed.
import * as fs from "fs";
import * as path from "path";
import { PlannedResource, SecretValue } from "./harness";
import { StackPlan } from "../tools/planner";
import { SECRET_PLACEHOLDER } from "../model/stackFile";
import {
  Baseline,
  BASELINE_DIR,
  baselineBeforeRenames,
  baselineFile,
  baselineOf,
  baselineStacks,
  compareBaselines,
  formatBaseline,
  planForBaseline,
  RENAMED_TYPES,
  redact,
} from "../tools/urnBaseline";
import { POSTGRES_DATABASE_OLD_TYPE } from "../components/postgresDatabase";
import { VIRTUAL_IP_OLD_TYPE } from "../components/virtualIp";

const stacks = baselineStacks();
const plans = new Map<string, StackPlan>();

beforeAll(async () => {
  for (const s of stacks) plans.set(s.id, await planForBaseline(s));
}, 300_000);

const committed = (id: string): Baseline => JSON.parse(fs.readFileSync(baselineFile(id), "utf8"));

/**
 * The secret values of a plan: generated passwords, bytes and private keys (the mock's stand-ins)
 * and the placeholder of every `secure:` config value. (A secret input as a whole can also hold
 * plain words, e.g. an env list with one secret entry: those are not looked for.)
 */
function secretStrings(plan: StackPlan): string[] {
  const generated = (r: PlannedResource) => ["result", "hex", "base64", "b64Url", "privateKeyPem"].map((k) => r.state[k]);
  const found = plan.resources.filter((r) => /^(random|tls):/.test(r.type)).flatMap(generated);
  return [SECRET_PLACEHOLDER, ...found].filter((s): s is string => typeof s === "string" && s.length >= 8);
}

describe("URN and inputs baseline", () => {
  it("has one baseline file per default and example stack, and no other", () => {
    const files = fs
      .readdirSync(BASELINE_DIR)
      .filter((f) => f.endsWith(".json"))
      .sort();
    expect(files).toEqual(stacks.map((s) => `${s.id}.json`).sort());
  });

  it.each(stacks.map((s) => [s.id, s] as const))("%s declares the baseline's URNs with the baseline's inputs", (id, s) => {
    const now = baselineOf(s, plans.get(id)!);
    const differences = compareBaselines(committed(id), now);
    if (differences.length) {
      throw new Error(
        `${path.relative(process.cwd(), baselineFile(id))} differs from the plan of ${s.stackFile}:\n${differences.join("\n")}\n` +
          `If the change is intended, run \`npm run urns-update\` and commit the baseline with it.`,
      );
    }
    // Byte for byte too: the file is exactly what the generator writes (no hand edits).
    expect(fs.readFileSync(baselineFile(id), "utf8")).toBe(formatBaseline(now));
  });

  // The component renames (SharedPostgresDb -> PostgresDatabase, VipPair -> VirtualIp): the stack
  // as declared before them (the same plan with the old type tokens; at the rename commit this was
  // byte for byte the committed baseline) is matched URN for URN, by an unchanged URN or by an alias
  // the new resource declares (own, or inherited from its renamed parent), with the same inputs: a
  // `pulumi up` after the rename replaces nothing.
  it("lists each renamed type with the alias its component declares", () => {
    expect(RENAMED_TYPES.map((r) => r.from)).toEqual([POSTGRES_DATABASE_OLD_TYPE, VIRTUAL_IP_OLD_TYPE]);
  });

  it.each(stacks.map((s) => [s.id, s] as const))("%s: every URN from before the component renames is still declared or an alias, with the same inputs", (id, s) => {
    const now = baselineOf(s, plans.get(id)!);
    const before = baselineBeforeRenames(now);
    const renamed = Object.keys(before.resources).filter((u) => !(u in now.resources));
    // Something to prove: every stack but the runner fleet declares a database (and so a renamed URN).
    if (!id.endsWith(".runners")) expect(renamed.length).toBeGreaterThan(0);
    expect(compareBaselines(before, now)).toEqual([]);
    // Each of them through an alias of exactly one resource.
    for (const u of renamed) expect(Object.values(now.aliases ?? {}).filter((a) => a.includes(u))).toHaveLength(1);
  });

  it.each(stacks.map((s) => [s.id] as const))("%s: the baseline holds no secret in plain text", (id) => {
    const text = fs.readFileSync(baselineFile(id), "utf8");
    const secrets = secretStrings(plans.get(id)!);
    // The check has something to find: every stack but the runner fleet generates secrets.
    if (!id.endsWith(".runners")) expect(secrets.length).toBeGreaterThan(1);
    for (const secret of secrets) {
      if (text.includes(JSON.stringify(secret).slice(1, -1))) throw new Error(`${id}: a secret value appears in plain text in the baseline`);
    }
  });
});

describe("compareBaselines", () => {
  const before: Baseline = {
    stack: "prod",
    stackFile: "Pulumi.prod.yaml",
    resources: {
      "urn:pulumi:prod::twinstack::docker:index/volume:Volume::app-prod-data": { name: "app-prod-data" },
      "urn:pulumi:prod::twinstack::docker:index/container:Container::app-prod-app": { envs: ["A=1", "B=2"], uploads: [{ content: "a\nb\nc" }] },
    },
  };

  it("names a URN that is gone (a rename without aliases), a new one, and each changed input by path", () => {
    const after: Baseline = {
      ...before,
      resources: {
        "urn:pulumi:prod::twinstack::docker:index/volume:Volume::app-prod-volume": { name: "app-prod-data" },
        "urn:pulumi:prod::twinstack::docker:index/container:Container::app-prod-app": { envs: ["A=1", "B=3"], uploads: [{ content: "a\nB\nc" }] },
      },
    };
    expect(compareBaselines(before, after)).toEqual([
      "- urn:pulumi:prod::twinstack::docker:index/volume:Volume::app-prod-data   (URN no longer declared: a rename needs aliases, or Pulumi replaces the resource)",
      "+ urn:pulumi:prod::twinstack::docker:index/volume:Volume::app-prod-volume",
      "~ urn:pulumi:prod::twinstack::docker:index/container:Container::app-prod-app",
      '    envs[1]: "B=2" => "B=3"',
      '    uploads[0].content (line 2): "b" => "B"',
    ]);
    expect(compareBaselines(before, before)).toEqual([]);
  });

  it("takes a URN covered by an alias of a new resource as moved, not gone, and compares its inputs with the new resource's", () => {
    const old = "urn:pulumi:prod::twinstack::twinstack:index:Old$docker:index/volume:Volume::app-prod-data";
    const now = "urn:pulumi:prod::twinstack::twinstack:index:New$docker:index/volume:Volume::app-prod-data";
    const app = "urn:pulumi:prod::twinstack::docker:index/container:Container::app-prod-app";
    const b: Baseline = { ...before, resources: { [old]: { name: "app-prod-data" }, [app]: before.resources[app] } };
    const renamed: Baseline = { ...b, resources: { [now]: { name: "app-prod-data" }, [app]: before.resources[app] }, aliases: { [now]: [old] } };
    expect(compareBaselines(b, renamed)).toEqual([]);
    // Without the alias the old URN is gone (Pulumi would replace it); with it, a changed input still shows.
    expect(compareBaselines(b, { ...renamed, aliases: undefined })[0]).toMatch(/^- .*Old\$docker.*a rename needs aliases/);
    expect(compareBaselines(b, { ...renamed, resources: { ...renamed.resources, [now]: { name: "app-prod-volume" } } })).toEqual([
      `~ ${old} => ${now}`,
      '    name: "app-prod-data" => "app-prod-volume"',
    ]);
  });

  it("writes a secret as a digest that changes with the value", () => {
    const a = redact({ password: new SecretValue("hunter2-hunter2"), user: "app" }) as Record<string, string>;
    const b = redact({ password: new SecretValue("hunter3-hunter3"), user: "app" }) as Record<string, string>;
    expect(a.user).toBe("app");
    expect(a.password).toMatch(/^\[secret sha256:[0-9a-f]{16}\]$/);
    expect(JSON.stringify(a)).not.toContain("hunter2");
    expect(a.password).not.toBe(b.password);
  });
});
