// The protobuf Structs of the mock monitor's round trip, kept as plain JavaScript while the harness
// evaluates a program. Under setMocks nothing is sent anywhere, yet every registration converts each
// resource's inputs into a google.protobuf.Struct (the SDK's request, runtime/resource.js
// `Struct.fromJavaScript(serializedProps)`), back into JavaScript (the mock monitor's
// deserializeProperties, and the harness's record), the state into another Struct (mocks.js) and
// that back again (the harness, then the SDK's resolution of the outputs): a Value message, its
// field array and a map entry per property value, and a sorted copy per read. That was about a
// tenth of the added CPU of a 200-tenant plan (node --cpu-prof, google-protobuf and *_pb.js).
//
// While installed, Struct.fromJavaScript answers a PlainStruct: a Struct (instanceof, the same
// methods) holding what the real one holds as plain JavaScript (a copy taken at once, so later
// changes to the source do not show, as with the real one), whose toJavaScript returns a fresh copy
// of it: the same keys in the same order (the real Struct reads its map's keys sorted), the same
// values, and the same errors at the same time (a value a Struct cannot hold, e.g. undefined, throws
// "Unexpected struct type." from fromJavaScript). Anything else asked of it (getFieldsMap, e.g. the
// SDK's getResource lookup) turns it into a real Struct built from the same value first, and from
// then on it is that Struct. Not supported: serializing a message that holds one to bytes (its field
// data stays empty); the offline plan never serializes (no gRPC, no transforms or hooks).
// The real `pulumi up` never loads this file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const structPb = require("google-protobuf/google/protobuf/struct_pb") as {
  Struct: StructClass;
};

interface StructInstance {
  toJavaScript(): Record<string, unknown>;
  getFieldsMap(): unknown;
}
interface StructClass {
  new (): StructInstance;
  fromJavaScript(obj: unknown): StructInstance;
  prototype: StructInstance;
}

const Struct = structPb.Struct;
const realFromJavaScript = Struct.fromJavaScript;

/**
 * What google-protobuf's Value.fromJavaScript followed by toJavaScript gives for `value`: strings,
 * numbers, booleans and null as they are; an array as its items 0..length-1; any other object as
 * its enumerable keys (for...in, inherited ones too) in sorted order. Anything else (undefined, a
 * function, a symbol, a bigint) throws what Value.fromJavaScript throws.
 */
function plainValue(value: unknown): unknown {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return value;
    case "object":
      if (value === null) return null;
      if (Array.isArray(value)) {
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) out[i] = plainValue(value[i]);
        return out;
      }
      return plainObject(value);
    default:
      throw new Error("Unexpected struct type.");
  }
}

/** Struct.fromJavaScript's reading of an object (for...in), in toJavaScript's key order (sorted). */
function plainObject(obj: unknown): Record<string, unknown> {
  const keys: string[] = [];
  for (const key in obj as object) keys.push(key);
  keys.sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = plainValue((obj as Record<string, unknown>)[key]);
  return out;
}

/** A fresh copy of a value plainValue made (plain objects, arrays and scalars only). */
function copyOf(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(copyOf);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copyOf((value as Record<string, unknown>)[key]);
  return out;
}

/** A Struct whose content is plain JavaScript until something asks it for more than toJavaScript. */
class PlainStruct extends (Struct as unknown as new () => StructInstance) {
  private plain: Record<string, unknown>;
  private real?: StructInstance;
  constructor(plain: Record<string, unknown>) {
    super();
    this.plain = plain;
  }
  override toJavaScript(): Record<string, unknown> {
    return this.real ? this.real.toJavaScript() : (copyOf(this.plain) as Record<string, unknown>);
  }
  override getFieldsMap(): unknown {
    this.real ??= realFromJavaScript.call(Struct, this.plain);
    return this.real.getFieldsMap();
  }
}

function plainFromJavaScript(obj: unknown): StructInstance {
  return new PlainStruct(plainObject(obj));
}

let installed = 0;

/**
 * Makes Struct.fromJavaScript answer PlainStructs until the returned function is called. Nested and
 * overlapping calls (two plans at once in one process) keep it installed until the last one ends.
 */
export function usePlainStructs(): () => void {
  if (installed++ === 0) Struct.fromJavaScript = plainFromJavaScript;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--installed === 0) Struct.fromJavaScript = realFromJavaScript;
  };
}

/** A PlainStruct of `obj`, as Struct.fromJavaScript answers while installed. */
export function plainStructOf(obj: unknown): StructInstance {
  return plainFromJavaScript(obj);
}

/** What a real Struct of `obj` reads back, and what a PlainStruct of it reads back. */
export function roundTrips(obj: unknown): { real: unknown; plain: unknown } {
  return { real: realFromJavaScript.call(Struct, obj).toJavaScript(), plain: plainFromJavaScript(obj).toJavaScript() };
}
