/**
 * Prints the preview stack name for a branch: `preview-<slug>` (model/slug.ts previewStackName,
 * the same slug the program names the preview's resources and image tag from).
 * Used by the PR workflows: npm run --silent preview-stack-name -- -- "$BRANCH" (the build, then dist/)
 */
import { previewStackName } from "../model/slug";
import { parseCommandLine, UsageError } from "./cli";

const USAGE = "preview-stack-name [--] <branch>";
const HELP = `usage: ${USAGE}
Prints preview-<slug> for a git branch: the stack name of its preview (slug: DNS-, Docker- and
Postgres-safe, at most 32 characters, hash-suffixed when the branch had to change).
Git branch names never start with "-"; put -- before a branch from untrusted input anyway.
  -h, --help   this help`;

export function main(argv: string[]): number {
  try {
    const parsed = parseCommandLine("preview-stack-name", USAGE, argv, {}, true);
    if (!parsed) {
      console.log(HELP);
      return 0;
    }
    if (parsed.positionals.length !== 1 || parsed.positionals[0] === "") {
      throw new UsageError(
        `preview-stack-name: expected one non-empty branch name, got ${parsed.positionals.length === 1 ? "an empty one" : parsed.positionals.length}; usage: ${USAGE}`,
      );
    }
    console.log(previewStackName(parsed.positionals[0]));
    return 0;
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
