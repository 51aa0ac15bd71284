// Ending a CLI without cutting its output short. process.exit() ends the process at once, while a
// write to a pipe whose reader is slow is still queued in libuv (the kernel pipe buffer holds
// 64 KiB), so everything past that is lost. Every CLI of the project ends through exitWhenFlushed.

/** Resolves once everything written to `stream` so far has been handed to the OS. */
export function flushed(stream: NodeJS.WriteStream): Promise<void> {
  // Writes complete in order: the callback of an empty write runs after every earlier write is done.
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write("", () => resolve());
  });
}

/**
 * Sets the exit code, waits until stdout and stderr are flushed, then exits (pending timers or
 * handles of the program cannot keep the CLI alive after its answer is out).
 */
export async function exitWhenFlushed(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
