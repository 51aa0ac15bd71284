// The release-phase scripts (components/render/release.ts) checked by the programs that run them:
// shellcheck -s sh, then a real /bin/sh -c (as command.local.Command runs them) against a
// stand-in docker CLI whose "container" is a local process that sees only the variables passed
// with `-e NAME` (values copied from the CLI's environment, as the real CLI does).
import * as fs from "fs";
import * as path from "path";
import { renderPreReleaseBackupScript, renderReleaseScript, ReleaseScriptArgs } from "../../components/render/release";
import { shellcheckText } from "./shellcheck";
import { removeDir, run, tmpDir } from "./util";

const FAKE_DOCKER = `#!/bin/sh
# Stand-in docker CLI: logs every call; a container is a directory under $FAKE_STATE.
set -eu
printf '%s\\n' "$*" >>"$FAKE_DOCKER_LOG"
cmd=$1
shift
case "$cmd" in
  rm)
    [ "$1" = -f ] || { echo "unexpected rm args: $*" >&2; exit 2; }
    if [ -d "$FAKE_STATE/$2" ]; then rm -rf "\${FAKE_STATE:?}/$2"; else echo "No such container: $2" >&2; exit 1; fi
    ;;
  create)
    name=
    : >"$FAKE_STATE/.env"
    while [ "$#" -gt 0 ]; do
      case "$1" in
        --name) name=$2; shift 2 ;;
        --network|--label|--cpus|--memory) shift 2 ;;
        -e) eval "v=\\\${$2-}"; printf '%s=%s\\n' "$2" "$v" >>"$FAKE_STATE/.env"; shift 2 ;;
        -*) echo "unexpected create flag $1" >&2; exit 2 ;;
        *) break ;;
      esac
    done
    [ -n "$name" ] || { echo "create without --name" >&2; exit 2; }
    [ ! -d "$FAKE_STATE/$name" ] || { echo "Conflict. The container name is already in use" >&2; exit 1; }
    mkdir "$FAKE_STATE/$name"
    mv "$FAKE_STATE/.env" "$FAKE_STATE/$name/env"
    shift # image
    for a in "$@"; do printf '%s\\n' "$a"; done >"$FAKE_STATE/$name/cmd"
    echo "c0ffee-$name"
    ;;
  network)
    [ "$1" = connect ] && [ -d "$FAKE_STATE/$3" ] || { echo "network connect failed: $*" >&2; exit 1; }
    ;;
  start)
    d="$FAKE_STATE/$1"
    # The "container": the command with nothing but the passed variables in its environment.
    set +e
    set --
    while IFS= read -r a; do set -- "$@" "$a"; done <"$d/cmd"
    # shellcheck disable=SC2046 # one VAR=value word per line of the env file
    env -i $(cat "$d/env") "$@" >"$d/logs" 2>&1
    echo $? >"$d/code"
    set -e
    ;;
  wait) cat "$FAKE_STATE/$1/code" ;;
  logs) cat "$FAKE_STATE/$1/logs" ;;
  exec)
    [ "$1" = "$FAKE_BACKUP_CONTAINER" ] || { echo "No such container: $1" >&2; exit 1; }
    echo backup >>"$FAKE_EVENTS"
    exit "\${FAKE_BACKUP_EXIT:-0}"
    ;;
  *) echo "unexpected docker command $cmd" >&2; exit 2 ;;
esac
`;

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function sandbox(extra: NodeJS.ProcessEnv = {}) {
  const dir = tmpDir("twinstack-release-");
  dirs.push(dir);
  const bin = path.join(dir, "bin");
  const state = path.join(dir, "state");
  fs.mkdirSync(bin);
  fs.mkdirSync(state);
  fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
  const log = path.join(dir, "docker.log");
  const events = path.join(dir, "events");
  fs.writeFileSync(log, "");
  fs.writeFileSync(events, "");
  return {
    dir,
    state,
    log,
    events,
    env: {
      PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: dir,
      FAKE_DOCKER_LOG: log,
      FAKE_STATE: state,
      FAKE_EVENTS: events,
      FAKE_BACKUP_CONTAINER: "makapix-prod-backup",
      ...extra,
    },
  };
}

const args = (events: string, overrides: Partial<ReleaseScriptArgs> = {}): ReleaseScriptArgs => ({
  containerName: "makapix-prod-release",
  image: "ghcr.io/makapix/makapix:v1.8.0",
  network: "makapix-prod-net",
  envNames: ["DATABASE_URL", "EVENTS"],
  // The "migration": checks it got the secret, records that it ran.
  command: ["/bin/sh", "-c", `case "$DATABASE_URL" in *wrong*) echo "cannot connect" >&2; exit 4 ;; esac; echo "migrated $DATABASE_URL" >>"$EVENTS" && echo "migration done"`],
  limits: { cpus: 0.5, memoryMb: 256 },
  labels: { "twinstack.env": "prod" },
  ...overrides,
});

const sh = (script: string, env: NodeJS.ProcessEnv) => run("/bin/sh", ["-c", script], { env });

describe("release scripts", () => {
  test("both pass shellcheck -s sh", async () => {
    expect(await shellcheckText("release.sh", renderReleaseScript({ ...args("/tmp/x"), extraNetworks: ["lugh-shared"] }), { shell: "sh" })).toEqual([]);
    expect(await shellcheckText("pre-release-backup.sh", renderPreReleaseBackupScript("makapix-prod-backup", "/usr/local/bin/twinstack-backup.sh"), { shell: "sh" })).toEqual([]);
  });

  test("a succeeding release command runs once with the app's env by name, its output shown, nothing left behind", async () => {
    const box = sandbox({ DATABASE_URL: "postgres://u:s3cret@db/app" });
    const r = await sh(renderReleaseScript({ ...args(box.events), extraNetworks: ["lugh-shared"] }), { ...box.env, EVENTS: box.events });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("migration done");
    expect(fs.readFileSync(box.events, "utf8")).toBe("migrated postgres://u:s3cret@db/app\n");
    expect(fs.readdirSync(box.state)).toEqual([]);
    const calls = fs.readFileSync(box.log, "utf8");
    // The secret value went through the environment, never the command line.
    expect(calls).not.toContain("s3cret");
    expect(calls).toContain("network connect lugh-shared makapix-prod-release");
    expect(calls).toContain("--cpus 0.5 --memory 256m");
  });

  test("a failing release command fails the script (so the Command and the deploy), and removes its container", async () => {
    const box = sandbox({ DATABASE_URL: "postgres://u:wrong@db/app" });
    const r = await sh(renderReleaseScript(args(box.events)), { ...box.env, EVENTS: box.events });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("release: command exited with code 4; the new version was not deployed");
    expect(r.stdout).toContain("cannot connect");
    expect(fs.readFileSync(box.events, "utf8")).toBe("");
    expect(fs.readdirSync(box.state)).toEqual([]);
  });

  test("a leftover container of an interrupted run is removed first", async () => {
    const box = sandbox({ DATABASE_URL: "postgres://u:s3cret@db/app" });
    fs.mkdirSync(path.join(box.state, "makapix-prod-release"));
    const r = await sh(renderReleaseScript(args(box.events)), { ...box.env, EVENTS: box.events });
    expect(r.code).toBe(0);
    expect(fs.readFileSync(box.events, "utf8")).toBe("migrated postgres://u:s3cret@db/app\n");
  });

  test("the pre-release backup fails when the backup fails, and succeeds when it succeeds", async () => {
    const box = sandbox();
    const script = renderPreReleaseBackupScript("makapix-prod-backup", "/usr/local/bin/twinstack-backup.sh");
    expect((await sh(script, box.env)).code).toBe(0);
    expect(fs.readFileSync(box.log, "utf8")).toContain("exec makapix-prod-backup /usr/local/bin/twinstack-backup.sh");
    expect((await sh(script, { ...box.env, FAKE_BACKUP_EXIT: "3" })).code).toBe(3);
    expect(fs.readFileSync(box.events, "utf8")).toBe("backup\nbackup\n");
  });
});
