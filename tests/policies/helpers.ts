// Builders for synthetic resources (the shape tests/harness.ts records) and throwaway projects with
// Pulumi.<stack>.yaml files, so every policy runs through runPolicies exactly as the plan runs it.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OfflineResource, RunContext, runPolicies, Violation } from "../../policy/offline";

export const PROJECT = "twinstack";

export function urn(stack: string, type: string, name: string): string {
  return `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`;
}

export interface ResourceOptions {
  protect?: boolean;
  deleteBeforeReplace?: boolean;
  parent?: string;
  provider?: OfflineResource;
  state?: Record<string, unknown>;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
}

export function resource(stack: string, type: string, name: string, props: Record<string, unknown> = {}, opts: ResourceOptions = {}): OfflineResource {
  return {
    type,
    name,
    urn: urn(stack, type, name),
    custom: !type.startsWith("twinstack:"),
    parent: opts.parent,
    provider: opts.provider ? `${opts.provider.urn}::${opts.provider.name}-provider-id` : undefined,
    props,
    state: opts.state ?? { ...props },
    opts: {
      protect: opts.protect ?? false,
      retainOnDelete: false,
      deleteBeforeReplace: opts.deleteBeforeReplace ?? false,
      ignoreChanges: [],
      dependsOn: [],
      additionalSecretOutputs: [],
    },
    dependencies: opts.dependencies ?? Object.values(opts.propertyDependencies ?? {}).flat(),
    propertyDependencies: opts.propertyDependencies ?? {},
  };
}

export const labels = (map: Record<string, string>) => Object.entries(map).map(([label, value]) => ({ label, value }));

export function dockerProvider(stack: string, name: string, host: string): OfflineResource {
  return resource(stack, "pulumi:providers:docker", name, { host });
}

/** A standalone container as the program declares it. */
export function container(
  stack: string,
  name: string,
  props: Record<string, unknown> & { role?: string; env?: string; host?: string } = {},
  opts: ResourceOptions = {},
): OfflineResource {
  const { role = "app", env = stack.startsWith("preview-") ? "preview" : stack, host = "local", ...rest } = props;
  return resource(
    stack,
    "docker:index/container:Container",
    name,
    {
      image: `sha256:${"a".repeat(64)}`,
      labels: labels({ "twinstack.env": env, "twinstack.stack": stack, "twinstack.role": role, "twinstack.host": host }),
      ...rest,
    },
    opts,
  );
}

/** A swarm service as the program declares it. */
export function service(stack: string, name: string, props: Record<string, unknown> & { role?: string } = {}, opts: ResourceOptions = {}): OfflineResource {
  const { role = "app", ...rest } = props;
  const l = labels({ "twinstack.env": stack, "twinstack.stack": stack, "twinstack.role": role, "twinstack.host": "node1" });
  return resource(
    stack,
    "docker:index/service:Service",
    name,
    {
      name,
      labels: l,
      taskSpec: {
        containerSpec: { image: "registry.example.com/app@sha256:" + "b".repeat(64), labels: l, healthcheck: { tests: ["CMD", "true"] } },
        resources: { limits: { nanoCpus: 500_000_000, memoryBytes: 512 * 1024 * 1024 } },
      },
      mode: { replicated: { replicas: 1 } },
      updateConfig: { failureAction: "rollback", order: "start-first" },
      rollbackConfig: { parallelism: 1 },
      ...rest,
    },
    opts,
  );
}

const tmpDirs: string[] = [];

/** A project directory holding the given files (name -> content). Removed by cleanupProjects(). */
export function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twinstack-policy-"));
  tmpDirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

export function cleanupProjects(): void {
  while (tmpDirs.length) fs.rmSync(tmpDirs.pop() as string, { recursive: true, force: true });
}

export const DEV_YAML = `config:
  twinstack:env: dev
  twinstack:domains: [dev.gigi.casa]
  twinstack:hosts:
    - name: local
      docker: unix:///var/run/docker.sock
      cpus: 4
      memoryMb: 8192
  twinstack:app:
    name: gigi
    image: ghcr.io/gigi/app:dev-main
  twinstack:postgres:
    mode: dedicated
    publishPort: 15432
  twinstack:proxy:
    tls: internal
    httpPort: 8080
    httpsPort: 8443
`;

export const PROD_YAML = `config:
  twinstack:env: prod
  twinstack:domains: [gigi.casa]
  twinstack:hosts:
    - name: node1
      docker: ssh://deploy@10.0.0.5
      address: 10.0.0.5
  twinstack:app:
    name: gigi
    image: ghcr.io/gigi/app@sha256:${"c".repeat(64)}
  twinstack:postgres:
    mode: shared
    host: 10.0.0.20
    adminPasswordKey: pgAdmin
  twinstack:pgAdmin:
    secure: v1:abc
`;

/** A project with the default-like dev and prod stack files (plus any extra files). */
export function devProdProject(extra: Record<string, string> = {}): string {
  return project({ "Pulumi.dev.yaml": DEV_YAML, "Pulumi.prod.yaml": PROD_YAML, ...extra });
}

export function run(resources: OfflineResource[], ctx: { stack: string; dir: string; stackFile?: string; policyConfig?: RunContext["policyConfig"] }): Violation[] {
  return runPolicies(resources, {
    stack: ctx.stack,
    stackFile: ctx.stackFile ?? path.join(ctx.dir, `Pulumi.${ctx.stack}.yaml`),
    projectDir: ctx.dir,
    policyConfig: ctx.policyConfig,
  });
}

export function of(violations: Violation[], policy: string): Violation[] {
  return violations.filter((v) => v.policy === policy);
}

/** The stack's root resource: stack policies find the stack through it. */
export function stackRoot(stack: string): OfflineResource {
  return resource(stack, "pulumi:pulumi:Stack", `${PROJECT}-${stack}`);
}
