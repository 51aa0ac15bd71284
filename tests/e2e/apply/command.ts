// The e2e applier's handler for @pulumi/command's local Command: it runs the commands for real.
// Inputs and behaviour as documented at https://www.pulumi.com/registry/packages/command/api-docs/local/command/
// (source: github.com/pulumi/pulumi-command, provider/pkg/provider/local/command*.go): `create` runs on
// create, `update` (else `create` again) when other inputs change, `delete` on delete; `triggers`
// force a replacement; `environment` is added to the provider's own environment; `interpreter`
// defaults to ["/bin/sh", "-c"]; `dir` is the working directory; `stdin` is fed in; with
// addPreviousOutputInEnv (default true) update and delete see PULUMI_COMMAND_STDOUT/STDERR of the
// last run. stdout/stderr outputs lose one trailing newline, as the provider's do.
import { spawn } from "child_process";
import * as crypto from "crypto";
import { ApplyContext, HandlerRegistry, ResourceHandler } from "./types";

/** Runs one command as the provider would; rejects on a non-zero exit, with the stderr tail. */
export function runCommand(
  command: string,
  inputs: Record<string, any>,
  ctx: Pick<ApplyContext, "name">,
  extraEnv: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  const interpreter: string[] = inputs.interpreter?.length ? inputs.interpreter : ["/bin/sh", "-c"];
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter[0], [...interpreter.slice(1), command], {
      cwd: inputs.dir || undefined,
      env: { ...process.env, ...(inputs.environment ?? {}), ...extraEnv },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const trim = (s: string) => s.replace(/\n$/, "");
      if (code === 0) resolve({ stdout: trim(stdout), stderr: trim(stderr) });
      else reject(new Error(`command of ${ctx.name} exited with ${code}: ${trim(stderr).split("\n").slice(-5).join(" | ")}`));
    });
    // A command that never reads its stdin may exit before it is written: not an error.
    child.stdin.on("error", () => {});
    child.stdin.end(inputs.stdin ?? "");
  });
}

function previousOutputEnv(inputs: Record<string, any>, outputs: Record<string, any>): Record<string, string> {
  if (inputs.addPreviousOutputInEnv === false) return {};
  return { PULUMI_COMMAND_STDOUT: String(outputs.stdout ?? ""), PULUMI_COMMAND_STDERR: String(outputs.stderr ?? "") };
}

export const localCommand: ResourceHandler = {
  mappedInputs: ["create", "update", "delete", "environment", "dir", "interpreter", "triggers", "stdin", "addPreviousOutputInEnv"],
  replaceKeys: ["triggers"],
  async create(inputs, ctx) {
    const out = inputs.create ? await runCommand(inputs.create, inputs, ctx) : { stdout: "", stderr: "" };
    return { id: `${ctx.name}${crypto.randomBytes(4).toString("hex")}`, outputs: { ...inputs, ...out } };
  },
  async update(id, _olds, news, oldOutputs, ctx) {
    const command = news.update ?? news.create;
    const out = command ? await runCommand(command, news, ctx, previousOutputEnv(news, oldOutputs)) : { stdout: "", stderr: "" };
    return { id, outputs: { ...news, ...out } };
  },
  async delete(_id, outputs, inputs, ctx) {
    if (inputs.delete) await runCommand(inputs.delete, inputs, ctx, previousOutputEnv(inputs, outputs));
  },
};

export const commandHandlers: HandlerRegistry = {
  "command:local:Command": localCommand,
};
