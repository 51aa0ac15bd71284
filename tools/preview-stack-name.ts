/**
 * Prints the preview stack name for a branch: `preview-<slug>`.
 * Used by the PR workflows: npx ts-node --swc tools/preview-stack-name.ts "$BRANCH"
 */
import { previewStackName } from "../stacks/slug";

export function main(argv: string[]): number {
  if (argv.length !== 1 || argv[0] === "") {
    console.error("preview-stack-name: usage: preview-stack-name <branch> (a non-empty branch name)");
    return 1;
  }
  console.log(previewStackName(argv[0]));
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
