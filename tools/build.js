#!/usr/bin/env node
// Compiles the program and its tools to plain JavaScript in dist/ (gitignored), so `npm run plan`
// and the other tools start on node alone instead of a TypeScript compiler at every start.
// Runs in npm's `prepare` step (npm ci) and before every tool start, where it only compares
// modification times (a few milliseconds) and re-emits what changed. Type-checking is
// `npm run typecheck`'s job: this emits each file on its own with TypeScript's transpileModule
// (the tsconfig has isolatedModules, so per-file emit is exact), which takes about a second for
// the whole project where `tsc` needs about ten, as it loads every provider's declarations.
//
// Layout: dist/<same path>.js for every .ts file; every other file or TypeScript-free directory
// is a relative symlink to the source, so code reading files beside itself through __dirname
// (components/backupJob.ts reads ../scripts) finds them in dist/ too.
"use strict";
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const OUT = path.join(ROOT, "dist");
const MANIFEST = path.join(OUT, ".build.json");
/** Top-level entries never compiled nor linked. */
const SKIP_TOP = new Set(["node_modules", "dist", "bin", "coverage"]);
/** Bump to force a full rebuild when the emit settings below change. */
const BUILD_VERSION = 1;

/** Walks `rel` (relative to ROOT): { ts: [...], links: [...] } of paths relative to ROOT. */
function scan(rel, acc) {
  const abs = path.join(ROOT, rel);
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    const name = entry.name;
    const childRel = rel ? path.join(rel, name) : name;
    if (!rel && (SKIP_TOP.has(name) || name.startsWith("."))) continue;
    if (entry.isDirectory()) {
      if (name === "node_modules" || !containsTs(path.join(abs, name))) acc.links.push(childRel);
      else scan(childRel, acc);
    } else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) {
      acc.ts.push(childRel);
    } else if (rel || !name.endsWith(".ts")) {
      acc.links.push(childRel);
    }
  }
  return acc;
}

function containsTs(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && containsTs(path.join(dir, entry.name))) return true;
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) return true;
  }
  return false;
}

const outPath = (rel) => path.join(OUT, rel.replace(/\.ts$/, ".js"));

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

function writeAtomically(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function link(rel) {
  const at = path.join(OUT, rel);
  const target = path.relative(path.dirname(at), path.join(ROOT, rel));
  try {
    if (fs.readlinkSync(at) === target) return;
    fs.rmSync(at, { force: true });
  } catch {
    // absent (or a stale file): (re)create below
  }
  fs.mkdirSync(path.dirname(at), { recursive: true });
  try {
    fs.symlinkSync(target, at);
  } catch (err) {
    if (err.code !== "EEXIST") throw err; // another process linked it meanwhile
  }
}

// What ts-node --swc (node_modules/ts-node/dist/transpilers/swc.js, createSwcOptions) passes swc for
// this tsconfig.json: target ES2022, module commonjs, esModuleInterop, strict.
const SWC_OPTIONS = {
  swcrc: false,
  sourceMaps: false,
  module: { type: "commonjs", noInterop: false, strictMode: true, ignoreDynamic: false },
  jsc: {
    parser: { syntax: "typescript", tsx: false, dynamicImport: true },
    target: "es2022",
    keepClassNames: true,
    transform: { useDefineForClassFields: true },
  },
};

/**
 * Brings dist/ up to date with the sources; returns dist's path. Re-emits a file when its output
 * is missing or older than the source, everything when tsconfig.json or this script changed.
 */
function ensureBuilt() {
  const { ts: sources, links } = scan("", { ts: [], links: [] });
  const key = JSON.stringify({ BUILD_VERSION, tsconfig: mtime(path.join(ROOT, "tsconfig.json")), self: mtime(__filename) });
  let previousKey;
  try {
    previousKey = fs.readFileSync(MANIFEST, "utf8");
  } catch {
    previousKey = undefined;
  }
  const stale = previousKey === key ? sources.filter((rel) => mtime(outPath(rel)) < mtime(path.join(ROOT, rel))) : sources;
  if (stale.length) {
    const swc = require("@swc/core");
    for (const rel of stale) {
      const filename = path.join(ROOT, rel);
      const { code } = swc.transformSync(fs.readFileSync(filename, "utf8"), { ...SWC_OPTIONS, filename });
      writeAtomically(outPath(rel), code);
    }
  }
  for (const rel of links) link(rel);
  if (previousKey !== key) writeAtomically(MANIFEST, key);
  return OUT;
}

/** The compiled path of a source file given relative to the repo root ("tools/plan.ts"). */
function compiled(rel) {
  return outPath(rel);
}

module.exports = { ensureBuilt, compiled, ROOT, OUT };

if (require.main === module) ensureBuilt();
