// Once per `jest` run, after every suite: remove the run's PostgreSQL template cluster and its
// shared plans (globalSetup.ts).
import * as fs from "fs";
import { TEMPLATE_ENV } from "./support/pgServer";

export default async function globalTeardown(): Promise<void> {
  const dir = process.env[TEMPLATE_ENV];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  const plans = process.env.TWINSTACK_PLAN_STORE;
  if (plans) fs.rmSync(plans, { recursive: true, force: true });
}
