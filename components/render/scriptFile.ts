// The one convention for shell scripts the program renders (docs/ARCHITECTURE.md, "Shell
// scripts"): the body is a file in scripts/, everything after its marker line; the renderer
// writes a header (its own lines, then one `NAME='value'` per setting, values single-quoted by
// shQuote) and ships the body unchanged. Pure: reads the repository's scripts/ directory only.
//
// Found through __dirname, so it works from the sources (ts-jest) and from dist/ alike
// (tools/build.js links scripts/ into dist/).

import * as fs from "fs";
import * as path from "path";

/** The repository's scripts/ directory (dist/scripts in the compiled tools, a link to the same). */
export const SCRIPTS_DIR = path.join(__dirname, "..", "..", "scripts");

/** The line that ends a script file's check-only preamble; the body is everything after it. */
export const BODY_MARKER = "# ---- rendered verbatim from here ----\n";

const bodies = new Map<string, string>();

/** POSIX single-quoting: safe for any string inside a shell script. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The body of scripts/<file>: everything after BODY_MARKER, read once per process.
 * @throws Error when the file is missing or has no marker line (a broken checkout, not bad input).
 */
export function scriptBody(file: string): string {
  let body = bodies.get(file);
  if (body === undefined) {
    const full = path.join(SCRIPTS_DIR, file);
    const text = fs.readFileSync(full, "utf8");
    const at = text.indexOf(BODY_MARKER);
    if (at < 0) throw new Error(`${full}: no line ${JSON.stringify(BODY_MARKER.trim())}`);
    body = text.slice(at + BODY_MARKER.length);
    bodies.set(file, body);
  }
  return body;
}

/**
 * A rendered script: `lines` (shebang, comments, `set` flags: the renderer's own), then one
 * `NAME='value'` line per setting (`prefix` before each, e.g. "readonly "), then the body of
 * scripts/<file> unchanged. `file` may list several files: their bodies follow one another in
 * that order (a prologue that scripts share, still shipped inside each self-contained script).
 */
export function renderScriptFile(file: string | string[], lines: string[], settings: [string, string][], prefix = ""): string {
  const header = [...lines, ...settings.map(([k, v]) => `${prefix}${k}=${shQuote(v)}`)];
  return header.map((l) => l + "\n").join("") + (Array.isArray(file) ? file : [file]).map(scriptBody).join("");
}

/**
 * A rendered POSIX sh script with the usual header: `#!/bin/sh`, each of `comments` as a `# ` line,
 * `set -eu`, a blank line when `blankLine` (default false); then the settings and body as
 * renderScriptFile writes them.
 */
export function renderShScript(file: string | string[], comments: string[], settings: [string, string][], blankLine = false): string {
  return renderScriptFile(file, ["#!/bin/sh", ...comments.map((c) => `# ${c}`), "set -eu", ...(blankLine ? [""] : [])], settings);
}
