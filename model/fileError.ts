// The one-line message for a file the user named that cannot be read: shared by the stack file reader
// (model/stackFile.ts) and the command line (tools/cli.ts). No imports: the command line loads it at start-up.

/**
 * One line for a file of kind `what` (e.g. "stack", "policy pack config") that `fs.readFileSync`
 * could not read (`err`, its error): `<file>: no such <what> file`, `<file>: is a directory, not a
 * <what> file`, else `<file>: cannot read the <what> file: <the system's message>`.
 */
export function unreadableFile(file: string, err: unknown, what: string): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return `${file}: no such ${what} file`;
  if (code === "EISDIR") return `${file}: is a directory, not a ${what} file`;
  return `${file}: cannot read the ${what} file: ${(err as Error)?.message ?? String(err)}`;
}
