#!/usr/bin/env node
// `npx twinstack <command> [args]`: the project's command lines without npm's banner on stdout, so
// `npx twinstack plan -s prod --json > plan.json` holds only the JSON. Each command runs as its npm
// script does (the script's command, package root as working directory; a `node <file>.js` script
// in this process instead of a second node); paths the user types are resolved from where they
// typed them (TWINSTACK_CALLER_DIR, tools/cli.ts).
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
/** command -> npm script; a command without a script starts its tool with ts-node. */
const COMMANDS = {
  plan: { script: "plan", tool: "tools/plan.ts", what: "offline plan of a stack: resources and policy violations" },
  promote: { script: "promote", tool: "tools/promote.ts", what: "pin dev's image and a version into the prod stack file" },
  sample: { script: "sample", tool: "tools/sample.ts", what: "refresh a dev database with a sampled, anonymized copy of prod" },
  bench: { script: "bench", tool: "tools/bench.ts", what: "print the plan's and the sampler's speed figures" },
  "preview-stack-name": { script: "preview-stack-name", tool: "tools/preview-stack-name.ts", what: "print the preview stack name of a git branch" },
  "config-reference": { script: "config-reference", tool: "tools/configReference.ts", what: "print the config reference table" },
  fuzz: { script: "fuzz", tool: "tools/fuzz.ts", what: "plan mutated copies of every stack file and sort the outcomes" },
};
const USAGE = `usage: twinstack <command> [args] (twinstack help <command>, or twinstack <command> --help, for its options)`;

function help() {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    USAGE,
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.what}`),
    `  ${"help".padEnd(width)}  this list; help <command>: that command's help`,
    `  ${"--version".padEnd(width)}  print twinstack's version (package.json)`,
  ].join("\n");
}

function main(argv) {
  let [command, ...args] = argv;
  if (command === undefined) {
    process.stderr.write(`twinstack: missing command; ${USAGE}\n`);
    return 1;
  }
  if (command === "--version") {
    process.stdout.write(`${JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version}\n`);
    return 0;
  }
  // `help <command>` is `<command> --help`; `help help` is the general help (help is no script).
  if (command === "help" && args.length === 1 && args[0] === "help") {
    process.stdout.write(`${help()}\n`);
    return 0;
  } else if (command === "help" && args.length > 0) {
    if (args.length > 1) {
      process.stderr.write(`twinstack: help takes one command, got ${args.join(" ")}; ${USAGE}\n`);
      return 1;
    }
    [command, args] = [args[0], ["--help"]];
  } else if (command === "-h" || command === "--help" || command === "help") {
    process.stdout.write(`${help()}\n`);
    return 0;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    process.stderr.write(`twinstack: unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(", ")}); ${USAGE}\n`);
    return 1;
  }
  const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts || {};
  let start = scripts[entry.script] || `ts-node --swc ${entry.tool}`;
  // The script's first step, `node tools/build.js && …`, runs here in this process: the same
  // up-to-date check of dist/, without starting one more node (about 0.1 s of CPU per command).
  const build = /^node tools\/build\.js && (.+)$/.exec(start);
  if (build) {
    try {
      require(path.join(ROOT, "tools", "build.js")).ensureBuilt();
    } catch (err) {
      process.stderr.write(`twinstack: cannot build dist/ (tools/build.js): ${err.message}\n`);
      return 1;
    }
    start = build[1];
  }
  // As npm runs a script: with the package's node_modules/.bin on PATH, in the package root.
  const env = {
    ...process.env,
    PATH: `${path.join(ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH || ""}`,
    TWINSTACK_CALLER_DIR: process.env.TWINSTACK_CALLER_DIR || process.cwd(),
  };
  // A script that is `node <file>.js` runs in this process, as the main module (require.main is the
  // tool, as under node), with the same working directory, environment and arguments: no second
  // node and no sh (about 0.1 s of CPU per command). Its output and exit code are the tool's own.
  const plain = /^node ([\w./-]+\.js)$/.exec(start);
  if (plain && fs.existsSync(path.join(ROOT, plain[1]))) {
    process.chdir(ROOT);
    Object.assign(process.env, env);
    process.argv = [process.argv[0], path.join(ROOT, plain[1]), ...args];
    // node's own start of a main module (what `node <file>` runs; ts-node starts scripts the same way).
    require("module").runMain();
    return undefined;
  }
  // Anything else through sh, as npm runs a script.
  const result = spawnSync("sh", ["-c", `${start} "$@"`, "twinstack", ...args], { cwd: ROOT, stdio: "inherit", env });
  if (result.error) {
    process.stderr.write(`twinstack: cannot start ${command}: ${result.error.message}\n`);
    return 1;
  }
  return result.status === null ? 1 : result.status;
}

// undefined: the command runs in this process and sets its own exit code.
const code = main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
