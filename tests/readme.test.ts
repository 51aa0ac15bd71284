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

// The pages a developer reads name Markdown files of this repository only: never a path outside it
// (a checkout elsewhere has no ../shared/), never an absolute one.
describe("the developers' pages", () => {
  const ROOT = path.join(__dirname, "..");
  const pages = [
    "README.md",
    "FEATURES.md",
    "policy/README.md",
    ...fs
      .readdirSync(path.join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  const MD_PATH = /(?:^|[\s`(\[])((?:\/|\.{1,2}\/)?[\w./-]*?[\w-]+\.md)(?=$|[\s`)\],.:;])/gm;

  const mdPaths = (text: string) => [...text.matchAll(MD_PATH)].map((m) => m[1]);
  /** name, as written in page, is a file in the repository: from its root or the page's folder (a bare name also in docs/). */
  const inRepo = (page: string, name: string) => {
    if (path.isAbsolute(name)) return false;
    const candidates = [path.resolve(ROOT, name), path.resolve(ROOT, path.dirname(page), name), ...(name.includes("/") ? [] : [path.resolve(ROOT, "docs", name)])];
    return candidates.some((c) => !path.relative(ROOT, c).startsWith("..") && fs.existsSync(c));
  };

  it.each(pages)("%s names only Markdown files that are in the repository", (page) => {
    const names = mdPaths(fs.readFileSync(path.join(ROOT, page), "utf8"));
    expect(names.filter((n) => !inRepo(page, n))).toEqual([]);
  });

  it("refuses a path outside the repository and an absolute one (the check bites)", () => {
    const names = mdPaths("Read `../shared/DESIGN.md` (or /work/shared/DESIGN.md) and docs/ARCHITECTURE.md.");
    expect(names).toEqual(["../shared/DESIGN.md", "/work/shared/DESIGN.md", "docs/ARCHITECTURE.md"]);
    expect(names.filter((n) => !inRepo("docs/CONTRIBUTING.md", n))).toEqual(["../shared/DESIGN.md", "/work/shared/DESIGN.md"]);
  });
});
