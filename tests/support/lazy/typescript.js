// The real `typescript`, loaded on first use (see lazyModule.js). The path form escapes the mapper.
const path = require("path");
const { lazyModule } = require("./lazyModule");

module.exports = lazyModule(() => require(path.dirname(require.resolve("typescript/package.json"))));
