// The Pulumi program. Everything lives in stacks/; `npm run plan` calls the same runStack().
import { runStack } from "./stacks";

export = runStack();
