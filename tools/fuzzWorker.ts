// Child process of `npm run fuzz`: plans the stack files it is sent, one at a time, in-process, and
// answers how each plan ended and how many resources it had declared by then. The parent kills
// and replaces it when a plan runs past the timeout.
import * as pulumi from "@pulumi/pulumi";
import { describeFailure, planStack } from "./planner";

let declared = 0;
// Count every registration the program makes (the harness's mocks see each one).
const setMocks = pulumi.runtime.setMocks.bind(pulumi.runtime);
// Each planProgram sets new mocks: count only the last one (a preview's plan first plans its dev stack).
(pulumi.runtime as { setMocks: typeof pulumi.runtime.setMocks }).setMocks = (mocks, ...rest) =>
  ((declared = 0), setMocks)({ ...mocks, newResource: (args) => (declared++, mocks.newResource(args)), call: (args) => mocks.call(args) }, ...rest);

export interface FuzzJob {
  id: number;
  stack: string;
  stackFile: string;
  projectDir: string;
}
export interface FuzzAnswer {
  id: number;
  ok: boolean;
  /** The plan's error message, or its mandatory violations, one per line. */
  message: string;
  declared: number;
  mandatory: number;
  stackTrace: boolean;
}

let current: FuzzJob | undefined;
process.on("unhandledRejection", (err) => {
  // An error inside an apply: the plan would print it after declaring resources.
  if (current)
    answer({
      id: current.id,
      ok: false,
      message: describeFailure(err),
      declared,
      mandatory: 0,
      stackTrace: /\n\s+at /.test(String((err as Error)?.stack ?? "")) && !/^(?:\S*Pulumi\.)/.test(describeFailure(err)),
    });
});

function answer(a: FuzzAnswer) {
  if (!current || current.id !== a.id) return;
  current = undefined;
  process.send!(a);
}

process.on("message", async (job: FuzzJob) => {
  current = job;
  declared = 0;
  try {
    const plan = await planStack({ stack: job.stack, stackFile: job.stackFile, projectDir: job.projectDir });
    const mandatory = plan.violations.filter((v) => v.enforcementLevel === "mandatory");
    answer({
      id: job.id,
      ok: mandatory.length === 0,
      message: mandatory.map((v) => `${v.policy}: ${v.message}`).join("\n"),
      declared,
      mandatory: mandatory.length,
      stackTrace: false,
    });
  } catch (err) {
    const message = describeFailure(err);
    answer({ id: job.id, ok: false, message, declared, mandatory: 0, stackTrace: message.startsWith("error: ") });
  }
});
process.send!({ ready: true });
