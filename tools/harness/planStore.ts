// Where serialized plans of the program can be kept for reuse, and the keys they are kept under.
// SDK-free (tests/jestSetup.ts loads it in every suite). Nothing installs a store in the CLI or in
// `pulumi up`: only jest does (tests/support/planStore.js, one per worker, shared by the suites it
// runs), so that the many suites that plan the same example stacks evaluate each one once
// (tools/harness/planMemo.ts keeps and revives them).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Serialized plans by key (a 64-character hex string). Strings only: the store may live in another realm. */
export interface PlanStore {
  get(key: string): string | undefined;
  set(key: string, text: string): void;
}

let store: PlanStore | undefined;

/** Installs (or, with undefined, removes) the store planMemo uses. */
export function setPlanStore(s: PlanStore | undefined): void {
  store = s;
}

export function planStore(): PlanStore | undefined {
  return store;
}

/** The repository root of this module (the sources, or dist/ in the compiled tools). */
const ROOT = path.join(__dirname, "..", "..");
/** What a plan of the program depends on besides its inputs: its code, the scripts it reads, the dependencies' versions. */
const PROGRAM_DIRS = ["stacks", "components", "model", "tools/harness", "scripts"];
const PROGRAM_FILES = ["package-lock.json", "node_modules/.package-lock.json"];

function filesUnder(dir: string, out: string[]): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) filesUnder(full, out);
    else out.push(full);
  }
  return out;
}

let version: string | undefined;

/**
 * A hash of the program's source files, the scripts it reads (components/render/scriptFile.ts) and
 * the installed dependencies' lockfile: the version of the program a key is for. Computed once per
 * module instance (under jest: once per suite, each has its own module registry), in ~5 ms.
 */
export function programVersion(): string {
  if (version === undefined) {
    const hash = crypto.createHash("sha256");
    const files = [...PROGRAM_DIRS.flatMap((d) => filesUnder(path.join(ROOT, d), [])), ...PROGRAM_FILES.map((f) => path.join(ROOT, f))];
    for (const file of files) {
      let text: Buffer;
      try {
        text = fs.readFileSync(file);
      } catch {
        continue;
      }
      hash.update(`${path.relative(ROOT, file)}\0${text.length}\0`).update(text);
    }
    version = hash.digest("hex");
  }
  return version;
}

/** The key of a plan: sha256 of the program's version, the program's name and the exact text of its inputs. */
export function planKey(program: string, inputs: string): string {
  return crypto.createHash("sha256").update(`${programVersion()}\0${program}\0${inputs}`).digest("hex");
}
