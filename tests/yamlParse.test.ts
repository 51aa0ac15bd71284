// model/stackFile.ts parseYamlText reads stack files with js-yaml (faster on a cold start) with
// `yaml`'s scalar resolution, leaves some texts to `yaml`, and falls back to `yaml` for the error
// message: both must give the same value for every document.
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

  it("reads every plain scalar as yaml's parse does (YAML 1.2 core schema), also where js-yaml's own schema differs", () => {
    const scalars = [
      "0o17",
      "0x1F",
      "0xbb9",
      "012",
      "05671",
      "1_000",
      "1e3",
      "1e400",
      "-1e400",
      "+1",
      "-0",
      "+0",
      "0b1010",
      "+0xBB9",
      "-0x1",
      "+0o17",
      "-0b1",
      "+.5",
      "-.5",
      ".5",
      "5.",
      "0.",
      "+.inf",
      ".inf",
      "-.Inf",
      ".NaN",
      ".nan",
      "yes",
      "no",
      "on",
      "off",
      "y",
      "~",
      "Null",
      "NULL",
      "nULL",
      "TRUE",
      "True",
      "tRUE",
      "2001-12-14",
      "12:30:00",
      "1:2",
      '"q"',
      "'x'",
      "[1, 2]",
      "{a: 1}",
      "[+.5, 0b1, 0o7]",
      "3001 # a comment",
    ];
    for (const s of scalars) {
      const text = `k: ${s}\n`;
      expect([s, parseYamlText(text)]).toEqual([s, YAML.parse(text)]);
    }
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...scalars.filter((s) => !s.includes("#") && !s.startsWith("[") && !s.startsWith("{")), "0", "7", "x", "e", "E", "+", "-", ".", "_", "o", "b"), {
          maxLength: 6,
        }),
        (parts) => {
          const text = `k: ${parts.join("")}\n`;
          let expected: unknown;
          try {
            expected = YAML.parse(text);
          } catch {
            return; // not a plain scalar yaml reads: the next test covers errors
          }
          expect([text, parseYamlText(text)]).toEqual([text, expected]);
        },
      ),
      { numRuns: 500 },
    );
    // Merge keys are not part of the core schema: `<<` stays a plain key, in both.
    const merge = "a: &x {p: 1}\nb:\n  <<: *x\n  q: 2\n";
    expect(parseYamlText(merge)).toEqual(YAML.parse(merge));
    expect(parseYamlText(merge)).toEqual({ a: { p: 1 }, b: { "<<": { p: 1 }, q: 2 } });
    expect(parseYamlText("") ?? null).toBeNull();
    expect(parseYamlText("# only a comment\n") ?? null).toBeNull();
  });

  it("leaves anchors, aliases, tags, directives, very long keys and null keys to yaml", () => {
    const texts = [
      "%YAML 1.1\n---\nk: yes\nport: 05671\n",
      "k: !!float 3001\n",
      "k: !!str 12\n",
      "a: &h 1\nb: *h\n",
      `${"k".repeat(1100)}: x\n`,
      "~: x\n",
      "null: x\n",
      "? \n: x\n",
      `config:\n${Array.from({ length: 120 }, (_, i) => `  k${i}: *h`).join("\n")}\nh: &h 1\n`,
    ];
    for (const text of texts) {
      let expected: unknown;
      try {
        expected = YAML.parse(text);
      } catch (err) {
        expect(() => parseYamlText(text)).toThrow((err as Error).message);
        continue;
      }
      expect([text.slice(0, 40), parseYamlText(text)]).toEqual([text.slice(0, 40), expected]);
    }
  });

  it("refuses a document of nested aliases (resource exhaustion) at once, as yaml does", () => {
    const levels = Array.from({ length: 9 }, (_, i) =>
      i === 0
        ? `x0: &a0 "lol"`
        : `x${i}: &a${i} [${Array(10)
            .fill(`*a${i - 1}`)
            .join(",")}]`,
    );
    const text = `config:\n  other:bomb:\n${levels.map((l) => `    ${l}`).join("\n")}\n`;
    expect(() => parseYamlText(text)).toThrow(/resource exhaustion/);
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
