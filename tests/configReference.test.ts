// Every schema key has a description (stacks/reference.ts), and the README table carries them.
import { z } from "zod";
import { stackConfigSchema } from "../model/schema";
import { keyReference } from "../stacks/reference";
import { configReferenceTable } from "../tools/configReference";

/** Every key path of the schema, walked independently of the table renderer. */
function keys(schema: any, prefix = ""): string[] {
  const out: string[] = [];
  const props = schema.properties ?? (schema.type === "array" ? schema.items?.properties : undefined);
  const list = schema.type === "array" && schema.items?.properties;
  if (!props) return out;
  for (const [k, child] of Object.entries(props)) {
    const p = prefix ? `${prefix}${list ? "[]" : ""}.${k}` : k;
    out.push(p, ...keys(child, p));
  }
  return out;
}

test("every schema key has a description, and no description names a key the schema lacks", () => {
  const all = keys(z.toJSONSchema(stackConfigSchema, { io: "input", unrepresentable: "any" }));
  expect(all.length).toBeGreaterThan(150);
  expect(all.filter((k) => !keyReference(k)?.description)).toEqual([]);
  const { KEY_REFERENCE } = jest.requireActual("../stacks/reference");
  expect(Object.keys(KEY_REFERENCE).filter((k) => !all.includes(k))).toEqual([]);
});

test("the table explains: adminCidr required for provisioned hosts, privateNetwork documented, units and examples", () => {
  const rows = new Map(
    configReferenceTable()
      .split("\n")
      .slice(2)
      .map((line) => [/^\| `([^`]+)`/.exec(line)![1], line]),
  );
  expect(rows.get("provisioning.adminCidr")).toMatch(/\| any host has provision \| The only range allowed to SSH into provisioned hosts .*\| `203\.0\.113\.0\/24` \|$/);
  expect(rows.get("provisioning.privateNetwork.subnet")).toContain("Subnet the hosts get .11, .12");
  expect(rows.get("hosts[].memoryMb")).toContain("Unit: MiB.");
  expect(rows.get("backup.intervalSeconds")).toContain("Unit: seconds.");
  for (const [key, row] of rows) expect({ key, cells: row.split(" | ").length }).toEqual({ key, cells: 6 });
});
