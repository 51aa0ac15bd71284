// Every docker, postgresql and command:local resource the program declares, in every stack file of
// the repository (its own, the e2e ones, the examples), is one the applier's handlers realise: a
// handler exists for its type, each top-level input is in the handler's mappedInputs, and the nested
// docker/postgresql inputs pass the same mapping `create` applies. Found here, offline, instead of as a failed apply halfway through.
import * as fs from "fs";
import * as path from "path";
import { planStack } from "../../tools/planner";
import { commandHandlers } from "./apply/command";
import { checkDockerInputs, dockerHandlers } from "./apply/docker";
import { checkPostgresqlInputs, postgresqlHandlers } from "./apply/postgresql";

const root = path.join(__dirname, "..", "..");
const stackFiles = (dir: string) =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f) && f !== "Pulumi.yaml")
        .sort()
        .map((f) => ({ stack: f.replace(/^Pulumi\.(.+)\.yaml$/, "$1"), file: path.join(dir, f) }))
    : [];
const examples = fs.readdirSync(path.join(root, "examples")).flatMap((system) => stackFiles(path.join(root, "examples", system)));
const targets = [...stackFiles(root), { stack: "preview-feature-x", file: undefined as string | undefined }, ...stackFiles(path.join(__dirname, "stacks")), ...examples];

const handlers = { ...dockerHandlers, ...postgresqlHandlers, ...commandHandlers };
/** Resources checked over all stacks (a runners-only stack declares none). */
let checked = 0;
/** command:local resources among them (the release phase of the stacks with app.release). */
let checkedCommands = 0;

test.each(targets.map((t) => [t.file ? path.relative(root, t.file) : `${t.stack} (from Pulumi.dev.yaml)`, t] as const))(
  "%s: every docker/postgresql/command:local input is mapped",
  async (_label, t) => {
    const plan = await planStack({ stack: t.stack, stackFile: t.file, projectDir: root, runPolicyPack: false });
    const problems: string[] = [];
    for (const r of plan.resources) {
      // command:remote (Swarm formation over SSH) is the multi-host lab's; the release phase is command:local.
      if (!r.custom || !/^(docker|postgresql):|^command:local:/.test(r.type)) continue;
      checked++;
      if (r.type.startsWith("command:local:")) checkedCommands++;
      const handler = handlers[r.type];
      if (!handler) {
        problems.push(`${r.name}: no handler for ${r.type}`);
        continue;
      }
      const props = r.props as Record<string, any>;
      for (const [key, value] of Object.entries(props)) {
        if (value !== undefined && !handler.mappedInputs.includes(key)) problems.push(`${r.name} (${r.type}): input ${key} is not mapped`);
      }
      try {
        if (r.type.startsWith("docker:")) await checkDockerInputs(r.type, props, r.name);
        else if (r.type.startsWith("postgresql:")) checkPostgresqlInputs(r.type, props, r.name);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    expect(problems).toEqual([]);
  },
  120_000,
);

test("the checks above did see resources", () => {
  expect(checked).toBeGreaterThan(100);
  expect(checkedCommands).toBeGreaterThan(0);
});
