// The store of serialized plans (tools/harness/planStore.ts PlanStore) the suites of a jest run
// share: many suites plan the same example stacks in-process (tools/planner.ts planStack), and each
// (program version, inputs) is then planned once per run instead of once per suite. Loaded by the
// test environment (tests/support/cpuEnvironment.js) in the worker's own realm, so one instance
// lives as long as the worker; the environment hands it to each suite (tests/jestSetup.ts installs
// it). It holds strings only: every suite revives its own objects from them (tools/harness/planMemo.ts).
// With TWINSTACK_PLAN_STORE (a directory the run's globalSetup makes and its globalTeardown
// removes) the workers also share what they kept, one file per key written atomically (a
// rename), so a plan is computed once per run rather than once per worker.
"use strict";
const fs = require("fs");
const path = require("path");

/** Bound of the texts held in memory (characters); past it the oldest are dropped (they stay on disk). */
const MAX_CHARS = 256 * 1024 * 1024;
const KEY = /^[0-9a-f]{64}$/;

class PlanStore {
  /** `dir`: the directory shared with other processes (read at each use: a run's globalSetup sets it), or none. */
  constructor(dir = () => process.env.TWINSTACK_PLAN_STORE || undefined) {
    this.dir = dir;
    this.texts = new Map();
    this.chars = 0;
  }

  get(key) {
    checkKey(key);
    let text = this.texts.get(key);
    const dir = this.dir();
    if (text === undefined && dir) {
      try {
        text = fs.readFileSync(path.join(dir, `${key}.json`), "utf8");
      } catch (err) {
        if (err.code !== "ENOENT") throw err;
      }
      if (text !== undefined) this.remember(key, text);
    }
    return text;
  }

  set(key, text) {
    checkKey(key);
    if (typeof text !== "string") throw new TypeError("PlanStore.set: text must be a string");
    this.remember(key, text);
    const dir = this.dir();
    if (dir) {
      const file = path.join(dir, `${key}.json`);
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
    }
  }

  remember(key, text) {
    if (this.texts.has(key)) return;
    this.texts.set(key, text);
    this.chars += text.length;
    for (const [oldest, old] of this.texts) {
      if (this.chars <= MAX_CHARS) break;
      this.texts.delete(oldest);
      this.chars -= old.length;
    }
  }
}

function checkKey(key) {
  if (typeof key !== "string" || !KEY.test(key)) throw new TypeError(`PlanStore: a key is 64 hex digits, got ${JSON.stringify(key)}`);
}

/** The worker's store (one per process: Node caches this module). */
const planStore = new PlanStore();

module.exports = { PlanStore, planStore };
