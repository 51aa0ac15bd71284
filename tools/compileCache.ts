// V8's code cache for the modules a compiled tool loads (issue 17): the plan's process compiles
// about 370 modules (the Pulumi SDK, its protobuf and gRPC code, the providers, zod, ours) at every
// start, which node --cpu-prof showed as the largest single item of a plan's CPU (`wrapSafe`, about a
// fifth). Node 22 has this built in (module.enableCompileCache); Node 20, which this project runs on,
// has not. Each module is compiled with vm.Script from V8's cached data of an earlier run of the
// same tool, and at exit the tool writes the cached data of every module it had to compile, taken
// after the run (script.createCachedData()), so it also holds the functions compiled lazily while
// the tool ran, not only each module's top level. (v8-compile-cache-lib, which ts-node uses, stores
// the data taken right after each compile: in interleaved runs of the prod plan it saved about half
// of what this saves.) Nothing else changes: the same source runs, wrapped as node wraps a CommonJS
// module, with a `require` made the way node makes it; V8 itself refuses cached data made by another
// V8 version or flags (then the module is compiled from source and its data rewritten).
//
// Only modules under the project root, for the compiled tools in dist/ (a tool run from TypeScript,
// e.g. under jest, has no cache). A module's data is used only while its file has the same inode,
// size, modification and change time as when the data was made (npm gives every installed file the
// same modification time; the change time is the kernel's). The cache is one file per tool, V8
// version, architecture and node flags, in node_modules/.cache/twinstack-compile/, written whole to a
// temporary file and renamed (processes running at once each leave a consistent file; the last one
// wins). Any failure to read or write it only means compiling from source. TWINSTACK_COMPILE_CACHE=0
// turns it off, TWINSTACK_COMPILE_CACHE_DIR puts it elsewhere; removing the directory empties it.
import Module from "module";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as vm from "vm";

/** dist/ (this file is dist/tools/compileCache.js when compiled). */
const DIST = path.resolve(__dirname, "..");
const ROOT = path.dirname(DIST);
/** The main module, for each module's `require.main`. */
const MAIN = require.main;
/** Where the cache files live. */
export const CACHE_DIR = path.join(ROOT, "node_modules", ".cache", "twinstack-compile");

/** What one process did with the cache (tests read it). */
export interface CompileCacheStats {
  /** The cache file of this tool, or undefined when the cache is off. */
  file?: string;
  /** Modules compiled from cached data. */
  hits: number;
  /** Modules compiled from source (no data, a changed file, or data V8 refused). */
  compiled: number;
}

type ModuleInternals = {
  _compile(content: string, filename: string): unknown;
  require(id: string): unknown;
  exports: unknown;
};
type ModuleStatics = {
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  _resolveLookupPaths(request: string, parent: unknown): string[] | null;
  _extensions: unknown;
  _cache: unknown;
  wrap(content: string): string;
};

/** The cache file's layout: 4 bytes (UInt32BE) of index JSON length, the index, then the data. */
type Index = Record<string, [key: string, start: number, end: number]>;

function readCache(file: string): { index: Index; data: Buffer } {
  try {
    const buf = fs.readFileSync(file);
    const length = buf.readUInt32BE(0);
    return { index: JSON.parse(buf.subarray(4, 4 + length).toString("utf8")) as Index, data: buf.subarray(4 + length) };
  } catch {
    return { index: {}, data: Buffer.alloc(0) };
  }
}

/** The identity of a file's content as the file system tells it (see the top of this file). */
function fileKey(filename: string): string {
  const st = fs.statSync(filename, { bigint: true });
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** `require` for `mod`, as node's makeRequireFunction builds it (lib/internal/modules/helpers.js). */
function makeRequire(mod: ModuleInternals): NodeJS.Require {
  const statics = Module as unknown as ModuleStatics;
  const require = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: unknown) => statics._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => statics._resolveLookupPaths(request, mod);
  require.resolve = resolve;
  require.main = MAIN;
  require.extensions = statics._extensions as NodeJS.Require["extensions"];
  require.cache = statics._cache as NodeJS.Require["cache"];
  return require;
}

/**
 * Compiles every module loaded from now on under the project root through the code cache of the
 * running tool (`tool`: its name; default the main module's file name) and writes the cache at exit.
 * Returns this process's statistics (live), or undefined when the cache is off.
 */
export function installCompileCache(env: NodeJS.ProcessEnv = process.env, tool?: string): CompileCacheStats | undefined {
  if (env.TWINSTACK_COMPILE_CACHE === "0" || path.basename(DIST) !== "dist") return undefined;
  // import() inside a cached module: node's own loader (Node 20.12+; older ones compile such modules from source).
  const dynamicImport = (vm.constants as unknown as { USE_MAIN_CONTEXT_DEFAULT_LOADER?: unknown } | undefined)?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  const name = tool ?? path.basename(require.main?.filename ?? "node", ".js");
  const flags = crypto.createHash("sha256").update(JSON.stringify(process.execArgv)).digest("hex").slice(0, 12);
  const dir = env.TWINSTACK_COMPILE_CACHE_DIR || CACHE_DIR;
  const file = path.join(dir, `${name}-${process.versions.v8}-${process.arch}-${flags}.bin`);
  const { index, data } = readCache(file);
  const fresh = new Map<string, { key: string; script: vm.Script }>();
  const stats: CompileCacheStats = { file, hits: 0, compiled: 0 };
  const statics = Module as unknown as ModuleStatics;
  const proto = Module.prototype as unknown as ModuleInternals;
  const previous = proto._compile;

  proto._compile = function (this: ModuleInternals, content: string, filename: string) {
    if (!filename.startsWith(ROOT + path.sep) || (dynamicImport === undefined && content.includes("import("))) return previous.call(this, content, filename);
    let key: string;
    let script: vm.Script;
    const entry = index[filename];
    try {
      key = fileKey(filename);
      const cachedData = entry && entry[0] === key ? data.subarray(entry[1], entry[2]) : undefined;
      // A leading `#!` line is a comment for node; inside the wrapper it must be one for V8 too.
      const source = content.startsWith("#!") ? `//${content.slice(2)}` : content;
      script = new vm.Script(statics.wrap(source), { filename, cachedData, importModuleDynamically: dynamicImport as never });
      if (cachedData && !script.cachedDataRejected) stats.hits++;
      else {
        stats.compiled++;
        fresh.set(filename, { key, script });
      }
    } catch {
      // A syntax error (node reports it its own way) or an unreadable file: node's own compile.
      return previous.call(this, content, filename);
    }
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, makeRequire(this), this, filename, path.dirname(filename));
  };

  process.once("exit", () => {
    if (!fresh.size) return;
    let tmp: string | undefined;
    try {
      const parts: Buffer[] = [];
      const next: Index = {};
      let offset = 0;
      const add = (filename: string, key: string, buf: Buffer) => {
        next[filename] = [key, offset, offset + buf.length];
        parts.push(buf);
        offset += buf.length;
      };
      for (const [filename, { key, script }] of fresh) add(filename, key, script.createCachedData());
      for (const [filename, [key, start, end]] of Object.entries(index)) if (!fresh.has(filename)) add(filename, key, data.subarray(start, end));
      const head = Buffer.from(JSON.stringify(next), "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32BE(head.length, 0);
      fs.mkdirSync(dir, { recursive: true });
      tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, Buffer.concat([length, head, ...parts]));
      fs.renameSync(tmp, file);
    } catch {
      // No cache this time: the next run compiles from source again.
      try {
        if (tmp) fs.rmSync(tmp, { force: true });
      } catch {
        // left for a later run's rename to ignore
      }
    }
  });
  return stats;
}

/** This process's statistics (undefined when the cache is off). */
export const COMPILE_CACHE = installCompileCache();
