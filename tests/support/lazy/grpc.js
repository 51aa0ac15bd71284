// @grpc/grpc-js, loaded on first use (see lazyModule.js): the SDK's runtime requires it as it loads
// (errors.js, settings.js, resource.js, ...; about 65 modules) but reads it only to talk to a real
// engine or to read an error's status code, which no test under the SDK's mocks does; the plan
// defers it the same way (tools/harness/deferSdkModules.ts). The absolute path of its entry (the
// package's "main"; the package has no "exports") escapes the mapper.
const path = require("path");
const { lazyModule } = require("./lazyModule");

module.exports = lazyModule(() => {
  const pkg = require.resolve("@grpc/grpc-js/package.json");
  return require(path.join(path.dirname(pkg), require(pkg).main));
});
