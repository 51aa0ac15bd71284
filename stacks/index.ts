// Entry of the program for every stack kind: validates the config before declaring anything, then
// composes prod/dev (InstanceStack, runners), or a preview (PreviewEnv).
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, LoadedConfig, loadStackConfig } from "./config";
import { haPostgresDatabase } from "./haPostgres";
import { composeHosts } from "./hosts";
import { composeInstance } from "./instance";
import { composePreview } from "./preview";
import { composeRunners } from "./runners";
import { namePrefix, runnerNamePrefix } from "../model/names";
import { composeTenants } from "./tenants";

/**
 * The program (its stack outputs, once every resource is declared). Config problems, found before
 * anything is declared or while composing, fail the update with one line per problem and no stack
 * trace (RunError: the CLI prints the message only). Everything is declared within the call, except
 * past TENANT_BATCH tenants (stacks/tenants.ts), whose later batches and then the runners follow.
 */
export async function runStack(): Promise<Record<string, unknown>> {
  try {
    return await composeStack(loadStackConfig());
  } catch (err) {
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

async function composeStack(loaded: LoadedConfig): Promise<Record<string, unknown>> {
  const c = loaded.config;
  if (c.env === "preview") return composePreview(loaded);

  const outputs: Record<string, unknown> = {};
  if (c.app) {
    // Existing and provisioned hosts (and the swarm over them), then the env on them, then tenant DNS.
    const hosts = composeHosts(loaded);
    const database = c.haPostgres.enabled ? haPostgresDatabase(loaded, hosts.hosts, hosts.publicAddresses) : {};
    const { instance, outputs: instanceOutputs } = composeInstance(loaded, hosts.hosts, database);
    const tenants = composeTenants(loaded, instance.vip?.address ?? hosts.publicAddresses[hosts.hosts[0].name]);
    // Awaited only when batches remain: otherwise the runners follow in the same synchronous pass.
    if (tenants.pending) await tenants.pending;
    Object.assign(outputs, instanceOutputs, hosts.outputs, { tenants: tenants.tenants });
  }
  const appName = c.app?.name ?? loaded.stack;
  const fleet = composeRunners(loaded, runnerNamePrefix(namePrefix(appName, c.env)));
  outputs.runnerAddresses = fleet.addresses;
  return outputs;
}
