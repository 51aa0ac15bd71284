// Init script for a dedicated Postgres container: creates the environment's extensions.
// Pure: no Pulumi imports.
//
// The official postgres image runs /docker-entrypoint-initdb.d/* once, when the data directory
// is empty; it has no variable for "create these extensions". So a small shell script goes
// there. It only creates extensions the image ships (pgvector needs e.g. pgvector/pgvector:pg16),
// and extensions added after the first start are not created by it (the script never runs
// again on an initialised volume).

import { RenderInvariantError } from "./invariant";
import { renderShScript, shQuote } from "./scriptFile";

/** An extension init script renderer invariant failed (bad or repeated extension name). */
export class PgInitError extends RenderInvariantError {
  constructor(message: string) {
    super(message);
    this.name = "PgInitError";
  }
}

// Extension names are control-file names: letters, digits, '_' and '-' (uuid-ossp).
const EXTENSION_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/;

/**
 * Returns `name` when it is a valid extension (control file) name: 1-63 of `[A-Za-z0-9_-]`, not starting with `-`.
 * @throws PgInitError otherwise.
 */
export function checkExtensionName(name: unknown): string {
  if (typeof name !== "string" || !EXTENSION_RE.test(name)) {
    throw new PgInitError(`extension ${JSON.stringify(name)} is not a valid extension name: use 1-63 of [A-Za-z0-9_-], ` + `not starting with '-'`);
  }
  return name;
}

/** POSIX single-quoting: safe for any string, including quotes and newlines. */
export const shellQuote = shQuote;

/** SQL identifier quoting ("uuid-ossp" needs it). */
export function sqlIdentifier(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/**
 * A /bin/sh script for /docker-entrypoint-initdb.d that creates each extension in
 * $POSTGRES_DB as $POSTGRES_USER (the entrypoint exports both and runs a socket-only
 * server while init scripts run). Body: scripts/pg-extensions.sh.
 */
export function renderExtensionsInitScript(extensions: string[]): string {
  if (!Array.isArray(extensions)) throw new PgInitError("extensions must be a list");
  const names = extensions.map(checkExtensionName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new PgInitError(`extension ${JSON.stringify(dup)} is listed twice`);

  // Body: scripts/pg-extensions.sh (docs/ARCHITECTURE.md, "Shell scripts"). The names are
  // validated above, so a space-separated list in one variable is exact.
  return renderShScript(
    "pg-extensions.sh",
    ["Rendered by twinstack; do not edit by hand.", "Runs once, on the first start with an empty data directory."],
    [["extensions", names.join(" ")]],
  );
}
