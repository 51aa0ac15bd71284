// Prints the README's app contract table (every env var the app receives in prod, dev and preview,
// and the health check) from model/appContract.ts; a test checks the README holds exactly it.
import { appContractTable } from "../model/appContract";
import { parseCommandLine } from "./cli";

const USAGE = "npx ts-node --swc tools/appContract.ts";

export function main(argv: string[]): number {
  try {
    if (!parseCommandLine("app-contract", USAGE, argv, {})) {
      console.log(`usage: ${USAGE}\nPrints the README's app contract table from model/appContract.ts.\n  -h, --help   this help`);
      return 0;
    }
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  process.stdout.write(`${appContractTable()}\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
