// Property tests are reproducible in CI: one fixed seed for every fast-check run, overridable
// (FC_SEED, FC_NUM_RUNS) by `npm run fuzz` and by anyone replaying a reported failure.
import fc from "fast-check";

const seed = process.env.FC_SEED === undefined ? 20261129 : Number(process.env.FC_SEED);
const numRuns = process.env.FC_NUM_RUNS === undefined ? undefined : Number(process.env.FC_NUM_RUNS);
fc.configureGlobal({ seed, ...(numRuns ? { numRuns } : {}) });
