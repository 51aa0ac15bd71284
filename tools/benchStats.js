// Preloaded (node -r) by `npm run bench` into each process it times: on exit, one stderr line with
// the process's own CPU time and peak RSS (process.resourceUsage), which node cannot read for a
// child. CPU time is the steadier figure on a shared machine, where wall time includes waiting.
"use strict";
process.on("exit", () => {
  const u = process.resourceUsage();
  require("fs").writeSync(2, `\nBENCH_STATS ${JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKb: u.maxRSS })}\n`);
});
