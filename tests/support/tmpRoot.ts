// Where the real-consumer tests and the run's PostgreSQL clusters keep their temporary files: a
// tmpfs (/dev/shm) when the machine has a writable one that allows executing files, else the OS
// temp dir. On a busy disk, creating many small files (the sampler's ~12,000-file vault, the
// clusters' data directories) costs seconds of kernel time each on ext4 and a fraction on tmpfs:
// writing 12,000 small files took 11.7-21.6 s wall / 6.0-7.8 s CPU in /tmp and 0.4-0.6 s / 0.23 s
// in /dev/shm on the loaded 2-core CI machine. TWINSTACK_TEST_TMPDIR overrides the choice.
// tmpfs: https://www.kernel.org/doc/html/latest/filesystems/tmpfs.html
import * as fs from "fs";
import * as os from "os";

let chosen: string | undefined;

function usableTmpfs(dir: string): boolean {
  try {
    if (!fs.statSync(dir).isDirectory()) return false;
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    // proc(5) /proc/mounts: "<device> <mount point> <type> <options> ..."; init scripts (pgInit) run from here.
    const mount = fs
      .readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .filter((f) => f[1] === dir)
      .pop();
    return mount !== undefined && mount[2] === "tmpfs" && !mount[3].split(",").includes("noexec");
  } catch {
    return false;
  }
}

/** The directory under which tests make their private temp dirs (see the header). */
export function testTmpRoot(): string {
  if (chosen === undefined) {
    const override = process.env.TWINSTACK_TEST_TMPDIR;
    chosen = override ? override : usableTmpfs("/dev/shm") ? "/dev/shm" : os.tmpdir();
  }
  return chosen;
}
