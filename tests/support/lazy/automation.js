// The SDK's real Automation API (@pulumi/pulumi/automation/index.js), loaded on first use (see
// lazyModule.js): the SDK's index.js requires it as it loads (about 80 modules: execa,
// normalize-package-data, ...) although no test drives the Pulumi CLI; the plan defers it the same
// way (tools/harness/deferSdkModules.ts). The absolute path escapes the mapper.
const path = require("path");
const { lazyModule } = require("./lazyModule");

module.exports = lazyModule(() => require(path.join(path.dirname(require.resolve("@pulumi/pulumi")), "automation", "index.js")));
