// The one error class of the renderers' own checks. Config validation (stacks/validate.ts) rejects
// every bad value first, naming file and key; a RenderInvariantError therefore means a check is
// missing there. The plan recognises the class (also wrapped in Pulumi's serialization errors).
export class RenderInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RenderInvariantError";
  }
}

/** The RenderInvariantError inside `err` (itself, a cause, or one named in a wrapped message). */
export function findRenderInvariant(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RenderInvariantError) return e.message;
    const message = (e as Error).message;
    const match = typeof message === "string" ? /(Caddyfile|CloudInitConfig|CloudVipScript|HaproxyConfig|KeepalivedConfig|MosquittoConfig|PatroniConfig|PgInit)Error: ([^\n]*)/.exec(message) : null;
    if (match) return match[2];
  }
  return undefined;
}
