import fc from "fast-check";
import { branchFromStackName, isWellFormedUnicode, branchSlug, isCleanSlug, MIN_SLUG_LENGTH, previewStackName, slugToIdentifier } from "../model/slug";

// DNS label (RFC 1123), starting with a letter so it is also a valid Postgres identifier / Docker name.
const VALID = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/;
const HASHED = /-[0-9a-f]{6}$/;
const PG_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function expectValid(slug: string, maxLength = 63): void {
  expect(slug).toMatch(VALID);
  expect(slug).not.toMatch(/--/);
  expect(slug.length).toBeLessThanOrEqual(maxLength);
  expect(slugToIdentifier(slug)).toMatch(PG_IDENTIFIER);
  expect(Buffer.byteLength(slugToIdentifier(slug))).toBeLessThanOrEqual(63);
  expect(slug).toMatch(DOCKER_NAME);
}

describe("branchSlug examples", () => {
  test("a clean branch is kept as is", () => {
    expect(branchSlug("main")).toBe("main");
    expect(branchSlug("fix-login-42")).toBe("fix-login-42");
  });

  test("accents are transliterated and the changed branch gets a hash suffix", () => {
    const slug = branchSlug("feature/Ünïcode");
    expect(slug).toMatch(/^feature-unicode-[0-9a-f]{6}$/);
    expectValid(slug);
  });

  test("the slash of feature/x is a change, so it is hashed", () => {
    expect(branchSlug("feature/x")).toMatch(/^feature-x-[0-9a-f]{6}$/);
  });

  test("200-char names are cut to 63 with the hash kept", () => {
    const long = `feature/${"a".repeat(200)}`;
    const slug = branchSlug(long);
    expect(slug.length).toBe(63);
    expect(slug).toMatch(HASHED);
    expectValid(slug);
    // Two long names sharing the first 63 chars do not collide.
    expect(branchSlug(`${long}x`)).not.toBe(slug);
    expect(branchSlug("a".repeat(200))).not.toBe(branchSlug("a".repeat(201)));
  });

  test("a 64-char clean name is too long and gets cut + hashed", () => {
    const slug = branchSlug("a".repeat(64));
    expect(slug).toBe(`${"a".repeat(56)}-${slug.slice(-6)}`);
    expectValid(slug);
  });

  test("the cut never leaves a double or trailing dash", () => {
    for (let i = 50; i < 60; i++) {
      const slug = branchSlug(`${"a".repeat(i)}--${"b".repeat(100)}`);
      expectValid(slug);
    }
  });

  test("'..' and punctuation-only names become a letter + hash", () => {
    expect(branchSlug("..")).toMatch(/^b-[0-9a-f]{6}$/);
    expect(branchSlug("..")).not.toBe(branchSlug("..."));
    expect(branchSlug("-")).toMatch(/^b-[0-9a-f]{6}$/);
    expect(branchSlug(" ")).toMatch(/^b-[0-9a-f]{6}$/);
  });

  test("leading digits get a letter prefix", () => {
    const slug = branchSlug("123-fix");
    expect(slug).toMatch(/^b-123-fix-[0-9a-f]{6}$/);
    expectValid(slug);
    expect(branchSlug("9")).toMatch(/^b-9-[0-9a-f]{6}$/);
  });

  test("names differing only by case get different slugs", () => {
    const slugs = new Set([branchSlug("Feature"), branchSlug("feature"), branchSlug("FEATURE"), branchSlug("fEature")]);
    expect(slugs.size).toBe(4);
    expect(branchSlug("feature")).toBe("feature");
  });

  test("emoji-only names get a letter + hash, distinct per emoji", () => {
    const a = branchSlug("🚀");
    const b = branchSlug("🔥🔥");
    expect(a).toMatch(/^b-[0-9a-f]{6}$/);
    expect(b).toMatch(/^b-[0-9a-f]{6}$/);
    expect(a).not.toBe(b);
  });

  test("an empty branch is a clear error", () => {
    expect(() => branchSlug("")).toThrow(/branch name is empty/);
  });

  test("maxLength is honoured and must leave room for the hash", () => {
    expect(branchSlug("feature/Ünïcode", 12)).toMatch(/^featu-[0-9a-f]{6}$/);
    expect(branchSlug("short", 12)).toBe("short");
    expect(branchSlug("x".repeat(20), MIN_SLUG_LENGTH)).toMatch(/^x-[0-9a-f]{6}$/);
    expect(() => branchSlug("main", MIN_SLUG_LENGTH - 1)).toThrow(RangeError);
  });

  test("slugToIdentifier maps - to _", () => {
    expect(slugToIdentifier("feature-unicode-abc123")).toBe("feature_unicode_abc123");
  });
});

describe("preview stack names", () => {
  test("previewStackName prefixes the slug", () => {
    expect(previewStackName("main")).toBe("preview-main");
    expect(previewStackName("feature/Ünïcode")).toBe(`preview-${branchSlug("feature/Ünïcode")}`);
  });

  test("branchFromStackName returns the slug of preview stacks only", () => {
    expect(branchFromStackName("preview-main")).toBe("main");
    expect(branchFromStackName(previewStackName("feature/Ünïcode"))).toBe(branchSlug("feature/Ünïcode"));
    expect(branchFromStackName("acme/twinstack/preview-fix-1")).toBe("fix-1");
    expect(branchFromStackName("prod")).toBeUndefined();
    expect(branchFromStackName("dev")).toBeUndefined();
    expect(branchFromStackName("preview-")).toBeUndefined();
    expect(branchFromStackName("preview-Bad_Slug")).toBeUndefined();
    expect(branchFromStackName("my-preview-x")).toBeUndefined();
  });
});

describe("branchSlug on names git cannot have (issue 14, kind 7)", () => {
  test("two lone surrogates are not two branches sharing one slug: both are rejected", () => {
    expect(() => branchSlug("\ud83d")).toThrow(/not well-formed Unicode/);
    expect(() => branchSlug("\ude80")).toThrow(/not well-formed Unicode/);
    expect(branchSlug("\ud83d\ude80")).toMatch(HASHED);
  });
  test("any string with a lone surrogate is rejected, never slugged", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 20 }), (b) => {
        if (isWellFormedUnicode(b)) return typeof branchSlug(b) === "string";
        expect(() => branchSlug(b)).toThrow(/not well-formed Unicode/);
        return true;
      }),
      { numRuns: 500 },
    );
  });
});

describe("branchSlug properties", () => {
  // Branch-like strings: mostly git-ish characters, plus arbitrary unicode.
  const branchChars = fc.constantFrom(..."abcXYZ019-_/.É üé🚀ß".split(""), ..."ﬁ".split(""));
  const branch = fc
    .oneof(
      fc.string({ minLength: 1, maxLength: 120 }),
      // Any code points (not lone surrogates: no git branch has one, see above).
      fc.string({ unit: "binary", minLength: 1, maxLength: 60 }).filter((s) => isWellFormedUnicode(s)),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 }),
      fc.array(branchChars, { minLength: 1, maxLength: 90 }).map((cs) => cs.join("")),
    )
    .filter((s) => isWellFormedUnicode(s));
  const maxLength = fc.integer({ min: MIN_SLUG_LENGTH, max: 100 });

  test("always a valid slug within maxLength", () => {
    fc.assert(
      fc.property(branch, maxLength, (b, max) => {
        const slug = branchSlug(b, max);
        return VALID.test(slug) && slug.length <= max && isCleanSlug(slug, max);
      }),
      { numRuns: 2000 },
    );
  });

  test("injective on distinct branches", () => {
    fc.assert(
      fc.property(fc.uniqueArray(branch, { minLength: 2, maxLength: 200 }), (branches) => {
        const slugs = new Set(branches.map((b) => branchSlug(b)));
        return slugs.size === branches.length;
      }),
      { numRuns: 200 },
    );
  });

  test("idempotent: a slug is its own slug", () => {
    fc.assert(
      fc.property(branch, maxLength, (b, max) => {
        const slug = branchSlug(b, max);
        return branchSlug(slug, max) === slug;
      }),
      { numRuns: 1000 },
    );
  });

  test("clean branches are kept unchanged", () => {
    const clean = fc.stringMatching(/^[a-z][a-z0-9]{0,10}(?:-[a-z0-9]{1,10}){0,4}$/);
    fc.assert(fc.property(clean, (b) => branchSlug(b) === b));
  });

  test("changed branches always carry the hash suffix", () => {
    fc.assert(
      fc.property(branch, (b) => {
        fc.pre(!isCleanSlug(b));
        return HASHED.test(branchSlug(b));
      }),
    );
  });
});
