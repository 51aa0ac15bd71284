// model/stackFile.ts parseYamlText reads stack files with js-yaml (faster on a cold start) and
// falls back to `yaml` for the error message: both must give the same value for every document the
// program reads, apart from the two documented cases.
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import fc from "fast-check";
import YAML from "yaml";
import { parseYamlText } from "../model/stackFile";

const root = path.join(__dirname, "..");

/** Every Pulumi.yaml and Pulumi.<stack>.yaml of the repository (examples, defaults, test fixtures). */
function stackFiles(dir: string, found: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === ".git" || entry.name === "dist") continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) stackFiles(full, found);
    else if (/^Pulumi(\..+)?\.ya?ml$/.test(entry.name)) found.push(full);
  }
  return found;
}

describe("parseYamlText", () => {
  it("reads every stack file of the repository as yaml's parse does", () => {
    const files = stackFiles(root);
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const file of files) {
      const text = fs.readFileSync(file, "utf8");
      expect([file, parseYamlText(text)]).toEqual([file, YAML.parse(text)]);
    }
  });

  it("reads generated documents, written in block and flow styles, as yaml's parse does", () => {
    // -0 is read as 0 by js-yaml (documented); the generator leaves it out.
    const value = fc.jsonValue().filter((v) => !JSON.stringify(v, (_k, x) => (Object.is(x, -0) ? "MINUS_ZERO" : x)).includes("MINUS_ZERO"));
    fc.assert(
      fc.property(
        value,
        fc.constantFrom<YAML.ToStringOptions>({}, { collectionStyle: "flow" }, { defaultStringType: "QUOTE_DOUBLE" }, { defaultStringType: "BLOCK_LITERAL" }),
        (v, options) => {
          const text = YAML.stringify({ config: { "twinstack:value": v } }, options);
          expect(isDeepStrictEqual(parseYamlText(text), YAML.parse(text))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads plain scalars of YAML 1.2's core schema as yaml's parse does, except 0b (an integer, as the Pulumi CLI reads it)", () => {
    const scalars = [
      "0o17",
      "0x1F",
      "012",
      "1_000",
      "1e3",
      "+1",
      ".inf",
      "-.Inf",
      ".NaN",
      "yes",
      "no",
      "on",
      "off",
      "y",
      "~",
      "Null",
      "NULL",
      "TRUE",
      "True",
      "tRUE",
      "2001-12-14",
      "12:30:00",
      "1:2",
      "0.",
      '"q"',
      "'x'",
      "!!str 12",
      "&a 1",
      "[1, 2]",
      "{a: 1}",
    ];
    for (const s of scalars) {
      const text = `k: ${s}\n`;
      expect([s, parseYamlText(text)]).toEqual([s, YAML.parse(text)]);
    }
    expect(parseYamlText("k: 0b1010\n")).toEqual({ k: 10 });
    // Merge keys are not part of the core schema: `<<` stays a plain key, in both.
    const merge = "a: &x {p: 1}\nb:\n  <<: *x\n  q: 2\n";
    expect(parseYamlText(merge)).toEqual(YAML.parse(merge));
    expect(parseYamlText(merge)).toEqual({ a: { p: 1 }, b: { "<<": { p: 1 }, q: 2 } });
    expect(parseYamlText("") ?? null).toBeNull();
    expect(parseYamlText("# only a comment\n") ?? null).toBeNull();
  });

  it("throws yaml's own message for a text either refuses", () => {
    for (const text of ["k: @x\n", "k: *nowhere\n", "a: 1\na: 2\n", "config: [unclosed\n", "k: - 1\n", "a: 1\n---\nb: 2\n", "k:\n\t- 1\n"]) {
      let expected = "";
      try {
        YAML.parse(text);
      } catch (err) {
        expected = (err as Error).message;
      }
      expect([text, expected]).not.toEqual([text, ""]);
      expect(() => parseYamlText(text)).toThrow(expected);
    }
  });
});
