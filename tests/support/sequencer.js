// Jest's own test sequencer (@jest/test-sequencer: failed first, then slowest first by the times its
// cache recorded, then larger files first), with one change for a run without recorded times (a
// fresh clone, as in CI): a group of tests/groups.js weighs what its members' files weigh together,
// not its own few lines. Otherwise the groups, which take longer than most single files, would start
// last and leave one worker running them alone at the end.
"use strict";
const fs = require("fs");
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;
const { GROUPS } = require("../groups");

const ROOT = path.resolve(__dirname, "../..");

/** Bytes of a test file; for a group file, of its members together. */
function weight(testPath) {
  const name = path.relative(path.join(ROOT, "tests/groups"), testPath).replace(/\.test\.ts$/, "");
  const files = GROUPS[name] ? GROUPS[name].map((f) => path.join(ROOT, f)) : [testPath];
  // A member that does not exist weighs nothing: the group then fails to load, naming it (tests/support/testGroup.ts).
  return files.reduce((sum, f) => sum + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}

class GroupAwareSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((t) => t.duration != null || this.hasFailed(t))) return sorted;
    const weights = new Map(sorted.map((t) => [t.path, weight(t.path)]));
    return [...sorted].sort((a, b) => weights.get(b.path) - weights.get(a.path));
  }
}

module.exports = GroupAwareSequencer;
