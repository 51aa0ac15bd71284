// The pack's own tests: they run from policy/ alone (`npm ci --prefix policy && npm test --prefix policy`),
// with node's test runner, loading only the pack, the model (../model) and the pack's dependencies.
// Stack files are fixtures given through setStackConfigReader, not the model's schema (model/config.ts),
// which the tests in ../tests/policies exercise with the real program.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { findClashes, machineOf } from "../../model/claims";
import { noPublicDataPorts } from "../firewall";
import { envTokenInNames, nameProblem } from "../naming";
import { policies } from "../policies";
import { noSharedClaims } from "../crossStack";
import { setStackConfigReader, stackInfo } from "../lib/stackContext";

/** Every stack file reads as present, with no config (the name alone fixes prod/dev/preview). */
const problems: string[] = [];
setStackConfigReader(() => ({ values: {}, problems }));

function check(policy: { validateResource?: unknown }, type: string, name: string, props: Record<string, unknown>, stack = "dev"): string[] {
  const violations: string[] = [];
  const args = { type, name, urn: `urn:pulumi:${stack}::twinstack::${type}::${name}`, props, opts: {} } as unknown as ResourceValidationArgs;
  (policy.validateResource as (a: ResourceValidationArgs, report: (m: string) => void) => void)(args, (m) => violations.push(m));
  return violations;
}

test("the pack has its eleven policies, each named once", () => {
  const names = policies.map((p) => p.name);
  assert.equal(names.length, 11);
  assert.equal(new Set(names).size, 11);
});

test("env-token-in-names: a dev container named for prod is reported with the name to use", () => {
  assert.deepEqual(check(envTokenInNames, "docker:index/container:Container", "app-dev-db", { name: "app-dev-db" }), []);
  const [violation, ...more] = check(envTokenInNames, "docker:index/container:Container", "db", { name: "app-prod-db" });
  assert.equal(more.length, 0);
  assert.match(violation, /dev container "app-prod-db" carries another stack's env token: name it app-dev-db/);
  assert.deepEqual(nameProblem({ name: "app_preview_feature_x", env: "preview", slug: "feature-x", separator: "_" }), undefined);
});

test("no-public-data-ports: Postgres open to the world is reported, to an admin range it is not", () => {
  const firewall = (sourceIps: string[]) => ({ name: "app-prod-fw", rules: [{ direction: "in", protocol: "tcp", port: "5432", sourceIps }] });
  assert.equal(check(noPublicDataPorts, "hcloud:index/firewall:Firewall", "fw", firewall(["0.0.0.0/0"]), "prod").length, 1);
  assert.deepEqual(check(noPublicDataPorts, "hcloud:index/firewall:Firewall", "fw", firewall(["198.51.100.0/24"]), "prod"), []);
});

test("no-shared-claims: a stack whose file does not validate is reported, naming the problem", () => {
  problems.push("Pulumi.prod.yaml: twinstack:app: required");
  try {
    const violations: string[] = [];
    const args = { resources: [{ urn: "urn:pulumi:prod::twinstack::twinstack:index:InstanceStack::app-prod", type: "twinstack:index:InstanceStack" }] };
    noSharedClaims.validateStack(args as unknown as StackValidationArgs, (m: string) => violations.push(m));
    assert.equal(violations.length, 1);
    assert.match(violations[0], /cannot read stack "prod"'s config from .*twinstack:app: required/);
  } finally {
    problems.length = 0;
  }
});

test("the model's claims compare machines and values as the cross-stack policy does", () => {
  assert.equal(machineOf("ssh://deploy@10.0.0.5"), machineOf("tcp://10.0.0.5:2376"));
  const claim = (value: string) => ({ kind: "database" as const, value, key: "twinstack:postgres.database" });
  assert.equal(findClashes([claim("db:5432/app_dev")], [claim("db:5432/app_dev")]).length, 1);
  assert.equal(findClashes([claim("db:5432/app_dev")], [claim("db:5432/app_prod")]).length, 0);
  assert.equal(stackInfo("urn:pulumi:preview-feature-x::twinstack::t::n")?.env, "preview");
});
