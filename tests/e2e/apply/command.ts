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
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
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

// @pulumi/command's remote Command (https://www.pulumi.com/registry/packages/command/api-docs/remote/command/;
// source: github.com/pulumi/pulumi-command, provider/pkg/provider/remote/): the same lifecycle as the
// local one, each command run in one SSH session on `connection` (host, port default 22, user default
// "root", privateKey, else the agent at $SSH_AUTH_SOCK). The provider does not check host keys
// (remote/connection.go: ssh.InsecureIgnoreHostKey), so neither does this handler. It runs OpenSSH's
// client (BatchMode: never a prompt) with the command as the remote command line, as the provider's
// session.Run does (the user's login shell runs it).
const REMOTE_CONNECTION_KEYS = ["host", "port", "user", "privateKey", "agentSocketPath", "dialErrorLimit", "perDialTimeout"];

function sshInterpreter(connection: Record<string, any> | undefined, ctx: Pick<ApplyContext, "name">): { interpreter: string[]; cleanup: () => void; env: Record<string, string> } {
  if (!connection?.host) throw new Error(`${ctx.name} (command:remote:Command): connection.host is required`);
  for (const key of Object.keys(connection)) {
    if (connection[key] !== undefined && !REMOTE_CONNECTION_KEYS.includes(key)) throw new Error(`${ctx.name} (command:remote:Command): the applier does not map connection.${key}`);
  }
  const args = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"];
  args.push("-o", `ConnectTimeout=${Number(connection.perDialTimeout ?? 15)}`, "-p", String(connection.port ?? 22), "-l", String(connection.user ?? "root"));
  let cleanup = () => {};
  if (connection.privateKey) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-remote-"));
    const key = path.join(dir, "key");
    fs.writeFileSync(key, String(connection.privateKey).replace(/\n?$/, "\n"), { mode: 0o600 });
    args.push("-i", key, "-o", "IdentitiesOnly=yes");
    cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  }
  args.push(String(connection.host));
  return { interpreter: args, cleanup, env: connection.agentSocketPath ? { SSH_AUTH_SOCK: String(connection.agentSocketPath) } : {} };
}

async function runRemote(
  command: string,
  inputs: Record<string, any>,
  ctx: Pick<ApplyContext, "name">,
  extraEnv: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  if (inputs.environment && Object.keys(inputs.environment).length)
    throw new Error(`${ctx.name} (command:remote:Command): the applier does not map environment (sshd's AcceptEnv)`);
  const ssh = sshInterpreter(inputs.connection, ctx);
  try {
    // PULUMI_COMMAND_STDOUT/STDERR go over SetEnv in the provider; the lab's scripts do not read them.
    void extraEnv;
    return await runCommand(command, { interpreter: ssh.interpreter, stdin: inputs.stdin }, ctx, ssh.env);
  } finally {
    ssh.cleanup();
  }
}

export const remoteCommand: ResourceHandler = {
  mappedInputs: ["connection", "create", "update", "delete", "environment", "triggers", "stdin", "addPreviousOutputInEnv"],
  replaceKeys: ["triggers", "connection"],
  async create(inputs, ctx) {
    const out = inputs.create ? await runRemote(inputs.create, inputs, ctx) : { stdout: "", stderr: "" };
    return { id: `${ctx.name}${crypto.randomBytes(4).toString("hex")}`, outputs: { ...inputs, ...out } };
  },
  async update(id, _olds, news, oldOutputs, ctx) {
    const command = news.update ?? news.create;
    const out = command ? await runRemote(command, news, ctx, previousOutputEnv(news, oldOutputs)) : { stdout: "", stderr: "" };
    return { id, outputs: { ...news, ...out } };
  },
  async delete(_id, outputs, inputs, ctx) {
    if (inputs.delete) await runRemote(inputs.delete, inputs, ctx, previousOutputEnv(inputs, outputs));
  },
};

export const commandHandlers: HandlerRegistry = {
  "command:local:Command": localCommand,
  "command:remote:Command": remoteCommand,
};
