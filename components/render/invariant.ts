// The one error class of the components' and renderers' own checks. Config validation
// (model/validate.ts) rejects every bad value first, naming file and key; an InvariantError
// therefore means a check is missing there (or a caller outside twinstack's stacks passed bad
// args). The plan recognises the class (also wrapped in Pulumi's serialization errors) and prints
// it as one line naming the stack file, without a stack trace.

/** A component's or renderer's own check failed: `<Component or file> <name>: <problem>`. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantError";
  }
}

/** A renderer's own check failed (a generated file's grammar); its subclasses name the file. */
export class RenderInvariantError extends InvariantError {
  constructor(message: string) {
    super(message);
    this.name = "RenderInvariantError";
  }
}

/** The InvariantError inside `err` (itself, a cause, or one named in a wrapped message). */
export function findInvariant(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof InvariantError) return e.message;
    const message = (e as Error).message;
    const match =
      typeof message === "string"
        ? /(Caddyfile|CloudInitConfig|HaproxyConfig|CloudVipScript|KeepalivedConfig|MosquittoConfig|PatroniConfig|PgInit|RenderInvariant|Invariant)Error: ([^\n]*)/.exec(message)
        : null;
    if (match) return match[2];
  }
  return undefined;
}
