// The script that changes a running standalone Caddy container's configuration in place: it
// installs the proxy's files (Caddyfile, certificates, keys) into the container and has Caddy load
// them with `caddy reload`. Pure: no Pulumi imports.
//
// Why: a standalone proxy container is named (it publishes fixed ports, often on the env's VIP: two
// containers cannot hold the same address and port, so its replacement can only go after it), and
// a change of its uploaded files would replace it: every proxy of the env down at once, requests
// refused until the new ones listen (found by the multi-host lab, tests/e2e/lab.e2e.test.ts
// scenario 5). A reload keeps the listeners and the connections: "Reloading the config is
// zero-downtime in most cases. Caddy will gracefully transition from the old config to the new
// one" (https://caddyserver.com/docs/command-line#caddy-reload), and the official image documents
// exactly this for containers: "the recommended way to trigger a config reload is by executing the
// caddy reload command in the running container" (https://hub.docker.com/_/caddy, "Graceful
// reloads"). A config Caddy rejects is not loaded: "If the new config fails for any reason, the old
// config is rolled back into place without downtime" (https://caddyserver.com/docs/api#post-load,
// which `caddy reload` uses); the script then puts the previous files back, so a restart of the
// container still starts the config that serves, and fails.
//
// The script runs on the machine running `pulumi up` (command.local.Command, `/bin/sh -c`) with
// DOCKER_HOST pointing at the container's host, like the preview route scripts (previewRoute.ts).
// The files travel on its stdin (renderProxyConfigStdin: one line per file, `<mode> <path>
// <base64>`), never in argv or the environment; keys stay out of the script text. In the container
// it needs `sh`, `cat`, `cp`, `mv`, `chmod`, `mkdir` (the official alpine image has busybox's) and
// `caddy`; on the machine, `base64 -d` (coreutils, busybox).
import { RenderInvariantError } from "./invariant";
import { renderShScript } from "./scriptFile";

/** One file to install in the running Caddy container: absolute path, text, and permission bits. */
export interface ProxyConfigFile {
  /** Absolute path in the container. */
  path: string;
  content: string;
  /** Octal permission bits, e.g. 0o644; keys 0o600. */
  mode: number;
}

/** Input of {@link renderProxyConfigScript}. */
export interface ProxyConfigScriptArgs {
  /** Name (or id) of the running Caddy container. */
  containerName: string;
  /** The Caddyfile `caddy reload` loads (one of the files on stdin). */
  caddyfilePath: string;
  /** Attempts of `caddy reload` (a container that has just started may not listen on its admin endpoint yet). Default 5, 2 s apart. */
  attempts?: number;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const PATH_RE = /^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/;

function fail(message: string): never {
  throw new RenderInvariantError(`proxy config script: ${message}`);
}

function checkPath(what: string, p: string): void {
  if (typeof p !== "string" || !PATH_RE.test(p) || p.split("/").some((s) => s === ".." || s === ".")) {
    fail(`${what} ${JSON.stringify(p)} must be an absolute path of letters, digits, '.', '_', '-', '/'`);
  }
}

/**
 * stdin of the script: one line per file, `<octal mode> <path> <base64 of the content>`, in the
 * given order (the script installs them in that order; put the Caddyfile last, after the files it
 * names). Throws RenderInvariantError on a bad path or mode, or a path given twice.
 */
export function renderProxyConfigStdin(files: ProxyConfigFile[]): string {
  if (!files.length) fail("no files");
  const seen = new Set<string>();
  return files
    .map((f) => {
      checkPath("file path", f.path);
      if (seen.has(f.path)) fail(`file ${f.path} given twice`);
      seen.add(f.path);
      if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o777) fail(`mode of ${f.path} must be 0..0777`);
      if (typeof f.content !== "string") fail(`content of ${f.path} must be a string`);
      return `${f.mode.toString(8).padStart(4, "0")} ${f.path} ${Buffer.from(f.content, "utf8").toString("base64")}\n`;
    })
    .join("");
}

/** POSIX sh, `set -eu`; exits non-zero (naming the container) when any file or the reload fails. */
export function renderProxyConfigScript(args: ProxyConfigScriptArgs): string {
  if (typeof args.containerName !== "string" || !NAME_RE.test(args.containerName))
    fail(`container name ${JSON.stringify(args.containerName)} must be letters, digits, '_', '.', '-'`);
  checkPath("caddyfilePath", args.caddyfilePath);
  const attempts = args.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 60) fail("attempts must be 1..60");
  // Body: scripts/proxy-config.sh (docs/ARCHITECTURE.md, "Shell scripts").
  return renderShScript(
    "proxy-config.sh",
    [
      "Installs the proxy's files into its running Caddy container and reloads Caddy gracefully.",
      "Rendered by twinstack (components/render/proxyConfig.ts). stdin: `<mode> <path> <base64>` per file.",
    ],
    [
      ["container", args.containerName],
      ["caddyfile", args.caddyfilePath],
      ["attempts", String(attempts)],
    ],
    true,
  );
}
