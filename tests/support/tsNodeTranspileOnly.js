// Preloaded (node -r) into the SDK's policy-pack runner by tests/policy.pack.test.ts only. The runner
// registers ts-node with typeCheck: true (node_modules/@pulumi/pulumi/cmd/run-policy-pack/run.js),
// so before serving it type-checks everything policy/ imports - the whole project, about 13 s of
// CPU. `npm run typecheck` (CI) already proves the types; the test is about what the served pack
// answers. Same runner, same ts-node, same files and compiler options: only the emit is per file
// (swc, as ts-node --swc and jest do) instead of type-checked.
"use strict";
const tsNode = require("ts-node");

const register = tsNode.register;
tsNode.register = (opts = {}) => register({ ...opts, typeCheck: false, transpileOnly: true, swc: true });
