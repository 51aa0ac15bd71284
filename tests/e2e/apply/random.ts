// The e2e applier's handlers for @pulumi/random, with node's crypto. Inputs and outputs as the
// provider documents them (https://www.pulumi.com/registry/packages/random/api-docs/randompassword/,
// .../randomid/, .../randombytes/; source: github.com/pulumi/pulumi-random, which wraps
// terraform-provider-random: internal/provider/resource_password.go, resource_id.go, resource_bytes.go).
// Every input of these resources forces a replacement (the provider has no update), so no `update`.
import * as crypto from "crypto";
import bcrypt from "bcryptjs";
import { HandlerRegistry, ResourceHandler } from "./types";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";
/** terraform-provider-random's default special set (internal/random/string.go). */
const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

function pick(chars: string, count: number): string[] {
  return Array.from({ length: count }, () => chars[crypto.randomInt(chars.length)]);
}

/**
 * A random string as the provider makes it: at least min* of each enabled class, the rest from
 * every enabled class, shuffled. Defaults: every class on, min 0, the default special set.
 */
export function randomString(inputs: Record<string, any>): string {
  const length = Number(inputs.length);
  if (!Number.isInteger(length) || length < 1) throw new Error(`length must be a positive integer, got ${inputs.length}`);
  const on = (key: string) => inputs[key] === undefined || inputs[key] === null || inputs[key] === true;
  const numericOn = inputs.numeric !== undefined && inputs.numeric !== null ? inputs.numeric === true : on("number");
  const classes = [
    { chars: LOWER, on: on("lower"), min: Number(inputs.minLower ?? 0) },
    { chars: UPPER, on: on("upper"), min: Number(inputs.minUpper ?? 0) },
    { chars: NUMERIC, on: numericOn, min: Number(inputs.minNumeric ?? 0) },
    { chars: inputs.overrideSpecial ?? DEFAULT_SPECIAL, on: on("special"), min: Number(inputs.minSpecial ?? 0) },
  ].filter((c) => c.on && c.chars.length);
  if (!classes.length) throw new Error("every character class is disabled");
  const required = classes.flatMap((c) => pick(c.chars, c.min));
  if (required.length > length) throw new Error(`length ${length} is less than the sum of the min* inputs (${required.length})`);
  const all = classes.map((c) => c.chars).join("");
  const chars = [...required, ...pick(all, length - required.length)];
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join("");
}

const noDelete = async () => {};

export const randomPassword: ResourceHandler = {
  mappedInputs: ["length", "special", "upper", "lower", "numeric", "number", "minLower", "minUpper", "minNumeric", "minSpecial", "overrideSpecial", "keepers"],
  async create(inputs) {
    const result = randomString(inputs);
    // bcrypt with the default cost, as the provider (golang.org/x/crypto/bcrypt DefaultCost = 10).
    const bcryptHash = bcrypt.hashSync(result, 10);
    return { id: "none", outputs: { ...inputs, result, bcryptHash } };
  },
  delete: noDelete,
};

export const randomId: ResourceHandler = {
  mappedInputs: ["byteLength", "prefix", "keepers"],
  async create(inputs) {
    const byteLength = Number(inputs.byteLength);
    if (!Number.isInteger(byteLength) || byteLength < 1) throw new Error(`byteLength must be a positive integer, got ${inputs.byteLength}`);
    const bytes = crypto.randomBytes(byteLength);
    const prefix = inputs.prefix ?? "";
    const b64Url = bytes.toString("base64url");
    const outputs = {
      ...inputs,
      b64Url: prefix + b64Url,
      b64Std: prefix + bytes.toString("base64"),
      hex: prefix + bytes.toString("hex"),
      dec: prefix + BigInt(`0x${bytes.toString("hex")}`).toString(10),
    };
    return { id: b64Url, outputs };
  },
  delete: noDelete,
};

export const randomBytes: ResourceHandler = {
  mappedInputs: ["length", "keepers"],
  async create(inputs) {
    const length = Number(inputs.length);
    if (!Number.isInteger(length) || length < 1) throw new Error(`length must be a positive integer, got ${inputs.length}`);
    const bytes = crypto.randomBytes(length);
    return { id: "none", outputs: { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") } };
  },
  delete: noDelete,
};

export const randomHandlers: HandlerRegistry = {
  "random:index/randomPassword:RandomPassword": randomPassword,
  "random:index/randomId:RandomId": randomId,
  "random:index/randomBytes:RandomBytes": randomBytes,
};
