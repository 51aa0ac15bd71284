// ESLint (flat config, https://eslint.org/docs/latest/use/configure/configuration-files): the
// direction of imports between the layers (docs/ARCHITECTURE.md), checked on every `npm test` run
// through `npm run lint`. Layers and what each may import:
//   model/       pure functions of the validated config, the config's schema and validation: nothing of the program
//   components/  model/ and third-party packages: never stacks/ (config), tools/, policy/ or tests/
//   stacks/      model/, components/: never tools/, policy/ or tests/
//   policy/      model/ and its own dependencies (policy/package.json): stack files are read with the
//                model's schema and validation (policy/programConfig.ts), never stacks/
//   tools/       anything but tests/ (the plan's engine, tools/harness/, is product code)
//   tools/sampler/  its own package (tools/sampler/package.json): its own files only, nothing outside
//                the folder (tests/samplerPackage.test.ts checks the packages it imports are declared)
//   tests/       anything
// Import specifiers are matched as written (relative paths), with .gitignore-style patterns
// (https://eslint.org/docs/latest/rules/no-restricted-imports#patterns).
"use strict";
const tseslint = require("typescript-eslint");

/** A restricted group: any relative import reaching into `dir`. */
const into = (dir, message, allowTypeImports = false) => ({ group: [`**/${dir}`, `**/${dir}/**`], message, allowTypeImports });

const TESTS = into("tests", "product code never imports tests/ (move what it needs into the product: see docs/ARCHITECTURE.md)");
const TOOLS = into("tools", "only tools/ and tests/ import tools/ (the plan's engine and CLIs)");
const POLICY = into("policy", "only tools/ (the offline plan) and tests/ import the policy pack");
const STACKS = into("stacks", "components/ take typed args and never read stack config: pass values from stacks/ instead");
const STACKS_FROM_MODEL = into(
  "stacks",
  "the model and the policy pack do not depend on stacks/: the config's schema and validation are model/ (model/schema.ts, model/config.ts)",
);
const COMPONENTS = into("components", "the model and the policy pack do not depend on components/: move the shared fact into model/");

// The sampler's files sit in one flat folder, so any `../` import leaves the package.
const OUT_OF_SAMPLER = {
  group: ["../*", "../**"],
  message: "the sampler is its own package (tools/sampler/package.json): it imports only its own files and the packages it declares",
  allowTypeImports: false,
};

const restrict = (...patterns) => ({ "@typescript-eslint/no-restricted-imports": ["error", { patterns }] });

// Every container and Swarm service goes through the one workload helper (components/workload.ts,
// declareWorkload), so labels, limits, health checks and rollback are applied the same way
// (docs/ARCHITECTURE.md). AST selectors: https://eslint.org/docs/latest/extend/selectors
const WORKLOAD_ONLY = "declare containers and Swarm services with declareWorkload (components/workload.ts), not the provider's resource directly";
const ONE_WORKLOAD_HELPER = {
  "no-restricted-syntax": [
    "error",
    // `new docker.Container(...)`, `new docker.Service(...)` (whatever the namespace import is called).
    { selector: "NewExpression[callee.type='MemberExpression'][callee.property.name=/^(Container|Service)$/]", message: WORKLOAD_ONLY },
    // `import { Container } from "@pulumi/docker"`, which would let `new Container(...)` through.
    { selector: "ImportDeclaration[source.value='@pulumi/docker'] > ImportSpecifier[imported.name=/^(Container|Service)$/]", message: WORKLOAD_ONLY },
  ],
};

module.exports = tseslint.config(
  { ignores: ["node_modules/", "**/node_modules/", "dist/", "bin/", "coverage/"] },
  {
    files: ["**/*.ts"],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: "module" },
    plugins: { "@typescript-eslint": tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
  // Product code marks its few deliberate require() calls with this rule's name; tests load lazily at
  // will (their existing disable comments for it are then unused, which is not an error there).
  { files: ["**/*.ts"], ignores: ["tests/**"], rules: { "@typescript-eslint/no-require-imports": "error" } },
  { files: ["tests/**/*.ts"], linterOptions: { reportUnusedDisableDirectives: "off" } },
  { files: ["model/**/*.ts"], rules: restrict(STACKS_FROM_MODEL, COMPONENTS, TOOLS, POLICY, TESTS) },
  { files: ["components/**/*.ts"], rules: restrict(STACKS, TOOLS, POLICY, TESTS) },
  { files: ["stacks/**/*.ts", "index.ts"], rules: restrict(TOOLS, POLICY, TESTS) },
  { files: ["components/**/*.ts", "stacks/**/*.ts", "index.ts"], ignores: ["components/workload.ts"], rules: ONE_WORKLOAD_HELPER },
  { files: ["policy/**/*.ts"], rules: restrict(STACKS_FROM_MODEL, COMPONENTS, TOOLS, TESTS) },
  { files: ["tools/**/*.ts"], rules: restrict(TESTS) },
  // After the tools/ entry: its options replace that entry's for the sampler's files.
  { files: ["tools/sampler/**/*.ts"], rules: restrict(OUT_OF_SAMPLER) },
);
