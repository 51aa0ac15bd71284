// shellcheck as a library for consumer tests: check a script given as text (rendered by a
// renderer) or a file in the repo. Findings come back as gcc-style lines, so a test can write
//   expect(await shellcheckText("preview-route-add.sh", script)).toEqual([]);
// and a failure prints exactly what shellcheck found. A missing shellcheck is an Error, never a
// skip; so is shellcheck itself failing to run (bad options, unreadable file).

import * as fs from "fs";
import * as path from "path";
import { removeDir, requireBinary, run, tmpDir } from "./util";

export interface ShellcheckOptions {
  /** Force a dialect instead of reading the shebang (needed for snippets without one). */
  shell?: "sh" | "bash" | "dash" | "ksh";
  /** Minimum severity to report; default "style" (everything). */
  severity?: "error" | "warning" | "info" | "style";
  /** Extra checks to exclude, e.g. ["SC1091"]. Prefer inline `# shellcheck disable=` with a reason. */
  exclude?: string[];
}

function args(opts: ShellcheckOptions): string[] {
  const a = ["--format=gcc", `--severity=${opts.severity ?? "style"}`, "--external-sources", "--source-path=SCRIPTDIR"];
  if (opts.shell) a.push(`--shell=${opts.shell}`);
  if (opts.exclude?.length) a.push(`--exclude=${opts.exclude.join(",")}`);
  return a;
}

/** Findings for files on disk (empty when clean). Paths in the findings are as given. */
export async function shellcheckFiles(files: string[], opts: ShellcheckOptions = {}, cwd?: string): Promise<string[]> {
  if (files.length === 0) return [];
  const bin = requireBinary("shellcheck");
  const r = await run(bin, [...args(opts), "--", ...files], { cwd, timeoutMs: 30_000 });
  // 0: clean, 1: findings. Anything else means shellcheck could not do its job.
  if (r.timedOut || (r.code !== 0 && r.code !== 1)) {
    throw new Error(`shellcheck failed to run (exit ${r.code}${r.timedOut ? ", timed out" : ""}):\n${r.stderr}${r.stdout}`);
  }
  const findings = r.stdout.split("\n").filter((l) => l.trim() !== "");
  if (r.code === 1 && findings.length === 0) throw new Error(`shellcheck exited 1 without findings:\n${r.stderr}`);
  return findings;
}

/**
 * Findings for a script given as text (empty when clean). `name` is the file name shown in
 * the findings, e.g. "runner-bootstrap-forgejo.sh"; it must be a plain file name.
 */
export async function shellcheckText(name: string, text: string, opts: ShellcheckOptions = {}): Promise<string[]> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`shellcheckText: name ${JSON.stringify(name)} must be a plain file name`);
  const dir = tmpDir("twinstack-shellcheck-");
  try {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    return await shellcheckFiles([name], opts, dir);
  } finally {
    removeDir(dir);
  }
}

/**
 * Findings for several scripts given as text, from one shellcheck process (all with the same
 * options): one list per script, in order, each exactly what shellcheckText(name, text, opts)
 * returns for it. Each script is written as <index>/<name> in a fresh directory, so names may
 * repeat; shellcheck checks each file on its own (files are independent unless one sources
 * another: https://github.com/koalaman/shellcheck/wiki/Directive#source) and prints a finding
 * per line in gcc format, "<file as given>:<line>:<column>: <level>: <message> [SC<code>]"
 * (shellcheck(1), FORMATS, gcc); the "<index>/" prefix says whose it is and is removed.
 */
export async function shellcheckTexts(scripts: Array<{ name: string; text: string }>, opts: ShellcheckOptions = {}): Promise<string[][]> {
  for (const { name } of scripts) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`shellcheckTexts: name ${JSON.stringify(name)} must be a plain file name`);
  }
  const dir = tmpDir("twinstack-shellcheck-");
  try {
    const files = scripts.map(({ name, text }, i) => {
      fs.mkdirSync(path.join(dir, String(i)));
      fs.writeFileSync(path.join(dir, String(i), name), text, { mode: 0o600 });
      return `${i}/${name}`;
    });
    const findings = await shellcheckFiles(files, opts, dir);
    const out: string[][] = scripts.map(() => []);
    for (const line of findings) {
      const i = files.findIndex((f) => line.startsWith(`${f}:`));
      if (i < 0) throw new Error(`shellcheck printed a line for none of the scripts:\n${line}`);
      out[i].push(line.slice(line.indexOf("/") + 1));
    }
    return out;
  } finally {
    removeDir(dir);
  }
}

/** Every *.sh under dir (recursively), sorted, relative to dir. */
export function findShellScripts(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? path.join(rel, entry.name) : entry.name;
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && entry.name.endsWith(".sh")) out.push(p);
    }
  };
  walk("");
  return out.sort();
}
