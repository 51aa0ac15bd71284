// Plans kept for reuse across the suites of a jest run (tools/harness/planMemo.ts, planStore.ts,
// tests/support/planStore.js): valid only because a plan is a pure function of the program and its
// inputs, and only if every caller gets an exact copy of its own.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import { SecretValue, PlanResult } from "./harness";
import { planStack, StackPlan } from "../tools/planner";
import { decodePlan, encodePlan } from "../tools/harness/planMemo";
import { PlanStore, planStore, setPlanStore } from "../tools/harness/planStore";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PlanStore: WorkerPlanStore } = require("./support/planStore.js") as { PlanStore: new (dir: () => string | undefined) => PlanStore };

const root = path.resolve(__dirname, "..");

/** A store that counts what it is asked. */
function mapStore() {
  const texts = new Map<string, string>();
  const counts = { get: 0, hit: 0, set: 0 };
  const store: PlanStore = {
    get(key) {
      counts.get++;
      const text = texts.get(key);
      if (text !== undefined) counts.hit++;
      return text;
    },
    set(key, text) {
      counts.set++;
      texts.set(key, text);
    },
  };
  return { store, texts, counts };
}

const secrets = (value: unknown): SecretValue[] =>
  value instanceof SecretValue ? [value] : Array.isArray(value) ? value.flatMap(secrets) : value && typeof value === "object" ? Object.values(value).flatMap(secrets) : [];

describe("plans kept for reuse", () => {
  const runStore = planStore();
  afterEach(() => setPlanStore(runStore));

  let prodAlone: StackPlan;
  let devAlone: StackPlan;
  beforeAll(async () => {
    setPlanStore(undefined);
    prodAlone = await planStack({ stack: "prod", projectDir: root, runPolicyPack: false });
    devAlone = await planStack({ stack: "dev", projectDir: root, runPolicyPack: false });
    setPlanStore(runStore);
  });

  it("plans two stacks at once as each alone (plans take turns in the SDK's one runtime), and a plan again identically", async () => {
    setPlanStore(undefined);
    const [dev, prod] = await Promise.all(["dev", "prod"].map((stack) => planStack({ stack, projectDir: root, runPolicyPack: false })));
    // Identical, secret stand-ins (passwords, keys, bcrypt hashes) included.
    expect(encodePlan(dev)).toBe(encodePlan(devAlone));
    expect(encodePlan(prod)).toBe(encodePlan(prodAlone));
    expect(isDeepStrictEqual(prod, prodAlone)).toBe(true);
    expect(prod.resources.every((r) => r.urn.startsWith("urn:pulumi:prod::"))).toBe(true);
    expect(secrets(prod).length).toBeGreaterThan(0);
    expect(prod.resources.some((r) => r.type === "random:index/randomPassword:RandomPassword" && typeof r.state.bcryptHash === "string")).toBe(true);
  });

  it("revives a kept plan as an exact copy of its own, in this suite's realm, for every caller", async () => {
    const { store, texts, counts } = mapStore();
    setPlanStore(store);
    const first = await planStack({ stack: "prod", projectDir: root, runPolicyPack: false });
    expect(counts).toEqual({ get: 1, hit: 0, set: 1 });
    expect(encodePlan(first)).toBe(encodePlan(prodAlone));
    const second = await planStack({ stack: "prod", projectDir: root, runPolicyPack: false });
    expect(counts).toEqual({ get: 2, hit: 1, set: 1 });
    expect(second).toStrictEqual(first);
    expect(isDeepStrictEqual(second, prodAlone)).toBe(true);
    expect(second.resources).not.toBe(first.resources);
    const kept = secrets(second);
    expect(kept.length).toBe(secrets(prodAlone).length);
    for (const s of kept) expect(s).toBeInstanceOf(SecretValue);

    // What a caller changes in its copy, the next caller does not see.
    second.resources[0].inputs.mutated = true;
    second.resources.pop();
    (second.outputs as Record<string, unknown>).caddyfile = "changed";
    const third = await planStack({ stack: "prod", projectDir: root, runPolicyPack: false });
    expect(isDeepStrictEqual(third, prodAlone)).toBe(true);
    expect(texts.size).toBe(1);
  });

  it("keeps a plan under its exact inputs: another text of the stack file is another plan", async () => {
    const { store, texts, counts } = mapStore();
    setPlanStore(store);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-memo-"));
    try {
      const file = path.join(dir, "Pulumi.prod.yaml");
      const text = fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8");
      fs.writeFileSync(file, text);
      await planStack({ stack: "prod", stackFile: file, projectDir: root, runPolicyPack: false });
      fs.writeFileSync(file, text.replace("    replicas: 2\n", "    replicas: 3\n"));
      expect(fs.readFileSync(file, "utf8")).not.toBe(text);
      const changed = await planStack({ stack: "prod", stackFile: file, projectDir: root, runPolicyPack: false });
      expect(counts).toEqual({ get: 2, hit: 0, set: 2 });
      expect(JSON.stringify(changed.resources.map((r) => r.props))).toContain('"replicas":3');
      expect(JSON.stringify(prodAlone.resources.map((r) => r.props))).not.toContain('"replicas":3');
      expect(texts.size).toBe(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes back exactly what JSON alone would not (undefined, NaN, -0, secrets in secrets) and keeps nothing it cannot", () => {
    const plan = {
      resources: [{ name: "a", parent: undefined, list: [1, NaN, -0, Infinity, undefined, null, ""], nested: new SecretValue({ deep: new SecretValue(["x", undefined]) }) }],
      outputs: { z: 1, a: 2, "10": 3, s: new SecretValue(-Infinity) },
    } as unknown as PlanResult;
    const text = encodePlan(plan)!;
    expect(typeof text).toBe("string");
    const back = decodePlan(text);
    expect(isDeepStrictEqual(back, plan)).toBe(true);
    expect(Object.keys(back.resources[0])).toEqual(["name", "parent", "list", "nested"]);
    expect(Object.keys(back.outputs)).toEqual(Object.keys(plan.outputs));
    expect(((back.resources[0] as unknown as { nested: SecretValue }).nested.value as { deep: unknown }).deep).toBeInstanceOf(SecretValue);

    const sparse = [1];
    sparse[2] = 3;
    const hidden = Object.defineProperty({}, "h", { value: 1, enumerable: false });
    for (const odd of [new Date(0), Buffer.from("x"), sparse, Object.freeze({ a: 1 }), { "\u0000": "u" }, () => 1, BigInt(1), new Map(), { [Symbol("s")]: 1 }, hidden]) {
      expect(encodePlan({ resources: [], outputs: { odd } } as unknown as PlanResult)).toBeUndefined();
    }
  });

  it("shares kept plans between the processes of a run through one directory, under hex keys only", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-memo-store-"));
    try {
      const a = new WorkerPlanStore(() => dir);
      const b = new WorkerPlanStore(() => dir);
      const key = "ab".repeat(32);
      expect(b.get(key)).toBeUndefined();
      a.set(key, "text");
      expect(b.get(key)).toBe("text");
      expect(fs.readdirSync(dir)).toEqual([`${key}.json`]);
      expect(new WorkerPlanStore(() => undefined).get(key)).toBeUndefined();
      expect(() => a.get("../x")).toThrow(/64 hex digits/);
      expect(() => a.set(key.toUpperCase(), "text")).toThrow(/64 hex digits/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
