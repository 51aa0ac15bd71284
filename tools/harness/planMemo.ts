// Plans of the program kept in a PlanStore (tools/harness/planStore.ts; only jest installs one)
// and revived as new objects for every caller. A plan is a pure function of the program's version
// and its inputs (the harness's stand-ins for generated values are derived from resource names:
// computedState), so a kept plan is the plan. A caller gets objects of its own, built in its own
// realm with its own SecretValue class (jest gives each suite its own module registry and global
// objects): what one caller changes, no other sees.
import { isDeepStrictEqual } from "util";
import { PlanOptions, PlanResult, SecretValue } from "./index";
import { planKey, planStore } from "./planStore";

/** Marks an encoded SecretValue, undefined or number JSON has no text for; no key of a plan's objects is this (else it is not kept). */
const TAG = "\u0000";

class NotEncodable extends Error {}

/**
 * `value` as JSON-safe data: a SecretValue as { TAG: "s", v }, undefined as { TAG: "u" }, NaN,
 * ±Infinity and -0 as { TAG: "n", v: their String() }. Throws NotEncodable for anything JSON would
 * not give back exactly (class instances other than SecretValue, objects of another realm,
 * non-extensible objects, array holes, symbol keys, non-enumerable properties, functions, bigints,
 * symbols, the tag as a key).
 */
function encode(value: unknown): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // NaN, for one: a mock's id through Number() (components/runnerFleet.ts firewallIds).
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { [TAG]: "n", v: Object.is(value, -0) ? "-0" : String(value) };
    case "undefined":
      return { [TAG]: "u" };
    case "object": {
      if (value === null) return null;
      if (value instanceof SecretValue) return { [TAG]: "s", v: encode(value.value) };
      if (!Object.isExtensible(value)) throw new NotEncodable("a non-extensible object");
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) throw new NotEncodable("an array of another realm");
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new NotEncodable("an array with holes");
          out[i] = encode(value[i]);
        }
        return out;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) throw new NotEncodable(`an instance of ${value.constructor?.name ?? "?"}`);
      const keys = Object.keys(value);
      if (Reflect.ownKeys(value).length !== keys.length) throw new NotEncodable("an object with symbol keys or non-enumerable properties");
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        if (key === TAG || key === "__proto__") throw new NotEncodable(`key ${JSON.stringify(key)}`);
        out[key] = encode((value as Record<string, unknown>)[key]);
      }
      return out;
    }
    default:
      throw new NotEncodable(typeof value);
  }
}

/** Undoes encode in place (JSON.parse made the objects in this realm). */
function revive(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  if (TAG in obj) {
    if (obj[TAG] === "u") return undefined;
    if (obj[TAG] === "s") return new SecretValue(revive(obj.v));
    if (obj[TAG] === "n") return Number(obj.v);
    throw new Error(`planMemo: unknown tag ${JSON.stringify(obj[TAG])} in a kept plan`);
  }
  for (const key of Object.keys(obj)) obj[key] = revive(obj[key]);
  return obj;
}

/** The text a plan is kept as, or undefined when it holds something JSON would not give back exactly. */
export function encodePlan(result: PlanResult): string | undefined {
  try {
    return JSON.stringify(encode(result));
  } catch (err) {
    if (err instanceof NotEncodable) return undefined;
    throw err;
  }
}

/** A new plan, in this realm, from the text encodePlan made. */
export function decodePlan(text: string): PlanResult {
  return revive(JSON.parse(text)) as PlanResult;
}

/** The exact text of a plan's inputs, or undefined when they cannot be written exactly. */
function inputsText(opts: PlanOptions): string | undefined {
  try {
    const { project, stack, config, secretKeys, stackOutputs, sourceFile } = opts;
    return JSON.stringify(encode({ project, stack, config, secretKeys, stackOutputs, sourceFile }));
  } catch (err) {
    if (err instanceof NotEncodable) return undefined;
    throw err;
  }
}

/**
 * `compute()` (the plan of `program`, named so, with `opts`), or the kept plan of the same program
 * version, program and inputs when the installed store has one. Without a store: compute().
 * A failed plan is not kept. TWINSTACK_PLAN_MEMO_CHECK=1 computes every kept plan again and
 * throws unless the fresh one equals the revived one exactly (util.isDeepStrictEqual) and encodes
 * to the same text, and throws naming what a plan holds that cannot be kept.
 */
export async function memoPlan(program: string, opts: PlanOptions, compute: () => Promise<PlanResult>): Promise<PlanResult> {
  const store = planStore();
  const inputs = store && inputsText(opts);
  if (!store || inputs === undefined) return compute();
  const key = planKey(program, inputs);
  const kept = store.get(key);
  if (kept !== undefined) {
    const revived = decodePlan(kept);
    if (process.env.TWINSTACK_PLAN_MEMO_CHECK) {
      const fresh = await compute();
      if (encodePlan(fresh) !== kept || !isDeepStrictEqual(fresh, revived)) {
        throw new Error(`planMemo: a kept plan of ${program} for stack ${opts.stack} (${opts.sourceFile ?? "no stack file"}) differs from a fresh one`);
      }
    }
    return revived;
  }
  const result = await compute();
  const text = encodePlan(result);
  if (text !== undefined) store.set(key, text);
  else if (process.env.TWINSTACK_PLAN_MEMO_CHECK) encode(result); // throws, saying what could not be kept
  return result;
}
