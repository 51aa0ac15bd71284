// CPU seconds (user + system) of this process's waited-for children so far: /proc/self/stat cutime
// and cstime, in clock ticks (proc(5); 100 per second on Linux), or 0 where there is no /proc.
// Shared by tests/support/cpuEnvironment.js (per test file) and tests/support/testGroup.ts (per member).
"use strict";
const fs = require("fs");

function childrenCpuSeconds() {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    // Fields after the command name (in parentheses, may hold spaces): field 3 onwards.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

module.exports = { childrenCpuSeconds };
