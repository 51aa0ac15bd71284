import * as fs from "fs";
import * as path from "path";
import { configReferenceTable } from "../tools/configReference";

const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));

describe("README", () => {
  it("holds the config reference table generated from the schema", () => {
    const section = readme.split("<!-- config-reference:start -->")[1]?.split("<!-- config-reference:end -->")[0];
    expect(section?.trim()).toBe(configReferenceTable().trim());
  });

  it("names only npm scripts that exist", () => {
    const used = [...readme.matchAll(/npm run ([a-z0-9-]+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(3);
    for (const script of used) expect(Object.keys(pkg.scripts)).toContain(script);
  });

  it("shows the two set-up commands, the main job and the offline plan", () => {
    for (const line of ["npm ci", "npm test", "pulumi up -s dev", "npm run plan -- -s prod"]) expect(readme).toContain(line);
  });
});
