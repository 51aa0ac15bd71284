// The test files tests/groups.js puts in group-2, run in one jest test file (tests/support/testGroup.ts).
import { runGroup } from "../support/testGroup";

runGroup("group-2", __filename);
