// zod's locale bundle (zod/v4/locales/index.cjs: every language's error messages, 66 modules),
// loaded on first use (see lazyModule.js): zod's classic and core entry points require it as they
// load (`exports.locales = __importStar(require("../locales/index.cjs"))`, the only requires of that
// path under node_modules), while the English messages the project shows come from locales/en.cjs,
// which zod requires on its own. No test reads z.locales. The absolute path escapes the mapper.
const path = require("path");
const { lazyModule } = require("./lazyModule");

module.exports = lazyModule(() => require(path.join(path.dirname(require.resolve("zod")), "v4", "locales", "index.cjs")));
