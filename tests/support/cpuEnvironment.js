// Jest's node environment, plus one measurement for `npm run bench -- --tests` (tools/bench.ts):
// when TWINSTACK_SUITE_CPU_LOG names a file, each test file appends one JSON line to it with the CPU
// seconds its worker spent from the environment's setup (before the test file's imports) to its
// teardown (after its afterAll hooks): the worker's own user+system time (process.cpuUsage) and
// that of the child processes it waited for in between (/proc/self/stat cutime and cstime, in
// clock ticks, proc(5); daemons that detach, such as pg_ctl's postgres, are not counted). Workers
// run one test file at a time, so the figures are per suite. Without the variable it is jest's own
// node environment, unchanged.
// Each suite also finds the worker's store of plans on its global as `twinstackPlanStore`
// (tests/support/planStore.js; tests/jestSetup.ts installs it for tools/planner.ts).
"use strict";
const fs = require("fs");
const { TestEnvironment } = require("jest-environment-node");
const { planStore } = require("./planStore");
const { childrenCpuSeconds } = require("./childrenCpu");

class CpuEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    this.log = process.env.TWINSTACK_SUITE_CPU_LOG;
    this.global.twinstackPlanStore = planStore;
  }

  async setup() {
    if (this.log) {
      this.cpuStart = process.cpuUsage();
      this.childrenStart = childrenCpuSeconds();
    }
    await super.setup();
  }

  async teardown() {
    await super.teardown();
    if (this.log) {
      const own = process.cpuUsage(this.cpuStart);
      const line = { testPath: this.testPath, cpu: (own.user + own.system) / 1e6, childrenCpu: childrenCpuSeconds() - this.childrenStart };
      fs.appendFileSync(this.log, `${JSON.stringify(line)}\n`);
    }
  }
}

module.exports = CpuEnvironment;
