// Every suite: the SDK's bookkeeping stack traces (one per promise and per resource, see
// sdkStackTraces.ts) are formatted as a bare "Error" instead of being source-mapped. Suites that
// plan through the harness also get Error.stackTraceLimit = 0 for the length of each plan
// (planProgram); outside a plan the limit stays, so a failing assertion still shows where it failed.
// TWINSTACK_STACK_TRACES=1 keeps everything as it was.
import { skipSdkStackTraces } from "./sdkStackTraces";
import { PlanStore, setPlanStore } from "../tools/harness/planStore";

// The plans of the program that other suites of this run made (tests/support/planStore.js): a
// plan of the same program and inputs is revived instead of computed again (tools/harness/planMemo.ts).
setPlanStore((globalThis as { twinstackPlanStore?: PlanStore }).twinstackPlanStore);

afterAll(skipSdkStackTraces({ limit: false }));
