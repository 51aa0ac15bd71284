// The test files tests/groups.js puts in group-3, run in one jest test file (tests/support/testGroup.ts).
import { runGroup } from "../support/testGroup";

runGroup("group-3", __filename);
