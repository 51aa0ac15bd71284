// Jest only (moduleNameMapper in jest.config.js): @pulumi/pulumi requires the TypeScript compiler
// (typescript-shim.js, for serializing functions) and @npmcli/arborist (runtime/closure/codePaths.js,
// for packaging them) as it loads, although no test serializes a function. Jest compiles every
// module afresh for every test file, which made these two about a fifth of the CPU of a suite that
// loads the SDK. This hands out the real module, loaded on first use: every property read goes to
// it. `__esModule` is answered without loading so that TypeScript's __importStar helper keeps the
// proxy instead of copying (and so loading) every export.
"use strict";

function lazyModule(load) {
  let real;
  const target = () => (real ??= load());
  return new Proxy(
    {},
    {
      get: (_, key) => (key === "__esModule" ? true : target()[key]),
      has: (_, key) => key in target(),
      ownKeys: () => Reflect.ownKeys(target()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(target(), key);
        return d && { ...d, configurable: true };
      },
    },
  );
}

module.exports = { lazyModule };
