import { createHash } from "crypto";

/**
 * Branch → slug that is at once a DNS label, a Docker name and (through
 * slugToIdentifier) a Postgres identifier: lower case [a-z0-9-], starts with a
 * letter, no leading/trailing/double '-', at most maxLength characters.
 *
 * A branch that is already such a slug is kept as is (so slugs are idempotent).
 * Any other branch gets `-<6 hex of sha256(original branch)>` appended, so two
 * branches that sanitize to the same text (case, accents, punctuation,
 * truncation) still get different slugs.
 */

export const PREVIEW_STACK_PREFIX = "preview-";

const HASH_LENGTH = 6;
/** A letter, `-`, and the hash: the shortest slug a changed branch can get. */
export const MIN_SLUG_LENGTH = 1 + 1 + HASH_LENGTH;
/** Prefix for branches whose sanitized form does not start with a letter (digits, emoji only). */
const LETTER_PREFIX = "b";

const CLEAN_SLUG = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/**
 * True when `value` is already a slug: lower-case `[a-z0-9-]`, starting with a letter, no leading,
 * trailing or double `-`, at most `maxLength` characters (@default 63, one DNS label).
 */
export function isCleanSlug(value: string, maxLength = 63): boolean {
  return value.length <= maxLength && CLEAN_SLUG.test(value);
}

/** No lone UTF-16 surrogate (String.prototype.isWellFormed, which TypeScript's es2022 lib lacks). */
export function isWellFormedUnicode(value: string): boolean {
  // With the u flag a surrogate pair is one code point: only a lone surrogate matches.
  return !/[\ud800-\udfff]/u.test(value);
}

/**
 * Branch -> slug that is at once a DNS label, a Docker name and (through {@link slugToIdentifier}) a
 * Postgres identifier, at most `maxLength` characters (@default 63). A clean slug is kept; any other
 * branch gets `-<6 hex of sha256(branch)>` appended so distinct branches never share a slug.
 * @throws Error when `branch` is empty or not well-formed Unicode.
 * @throws RangeError when `maxLength` is not an integer >= the minimum slug length.
 */
export function branchSlug(branch: string, maxLength = 63): string {
  if (typeof branch !== "string" || branch.length === 0) {
    throw new Error("branchSlug: branch name is empty");
  }
  if (!Number.isInteger(maxLength) || maxLength < MIN_SLUG_LENGTH) {
    throw new RangeError(`branchSlug: maxLength must be an integer >= ${MIN_SLUG_LENGTH}, got ${maxLength}`);
  }
  // Git names branches with bytes it shows as UTF-8: a lone UTF-16 surrogate cannot be in one, and
  // hashing its UTF-8 form (U+FFFD) would give "\ud83d" and "\ude80" the same slug.
  if (!isWellFormedUnicode(branch)) {
    throw new Error("branchSlug: branch name is not well-formed Unicode (it holds a lone UTF-16 surrogate, which no git branch can)");
  }
  if (isCleanSlug(branch, maxLength)) return branch;

  const hash = createHash("sha256").update(branch, "utf8").digest("hex").slice(0, HASH_LENGTH);
  let base = branch
    .normalize("NFKD")
    .replace(/\p{M}/gu, "") // combining marks left by NFKD: é → e
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (!/^[a-z]/.test(base)) base = base ? `${LETTER_PREFIX}-${base}` : LETTER_PREFIX;

  const room = maxLength - HASH_LENGTH - 1;
  base = base.slice(0, room).replace(/-+$/, "");
  return `${base}-${hash}`;
}

/** Postgres identifier form of a slug: `-` → `_` (slugs hold nothing else that needs quoting). */
export function slugToIdentifier(slug: string): string {
  return slug.replace(/-/g, "_");
}

/**
 * Longest preview slug. The database (and role) name `<app>_preview_<slug>` must fit Postgres's 63
 * bytes, and the slug names every resource at construction while the app name only arrives with the
 * dev stack's handoff: so the slug gets a fixed budget and the app name what is left.
 */
export const PREVIEW_SLUG_MAX_LENGTH = 32;

/**
 * The one slug of a branch's preview: what the stack is named after (previewStackName), what the
 * program names the preview's resources, image tag and route from (PreviewEnv), and what the PR
 * workflow tags the image with. Idempotent: the slug of a slug is itself.
 */
export function previewSlug(branch: string): string {
  return branchSlug(branch, PREVIEW_SLUG_MAX_LENGTH);
}

/**
 * The preview stack of a branch: `preview-<slug>` (slug at most {@link PREVIEW_SLUG_MAX_LENGTH}).
 * @throws Error as {@link branchSlug} does.
 */
export function previewStackName(branch: string): string {
  return `${PREVIEW_STACK_PREFIX}${previewSlug(branch)}`;
}

/**
 * The branch a preview stack is for: `twinstack:preview.branch` when set, else the slug of a
 * `preview-<slug>` stack name ({@link branchFromStackName}); undefined when neither says. The
 * program, the claims and the policy pack all use this one rule (validation refuses a
 * `preview-<slug>` stack whose `preview.branch` has another slug).
 */
export function previewBranch(configured: string | undefined, stack: string | undefined): string | undefined {
  return configured ?? (stack === undefined ? undefined : branchFromStackName(stack));
}

/**
 * The branch slug of a preview stack (`preview-<slug>`, optionally `org/project/`-qualified),
 * or undefined when the stack is not a preview stack. The original branch cannot be recovered
 * from a hashed slug; the slug is what every preview resource is named from.
 */
export function branchFromStackName(stack: string): string | undefined {
  const name = stack.slice(stack.lastIndexOf("/") + 1);
  if (!name.startsWith(PREVIEW_STACK_PREFIX)) return undefined;
  const slug = name.slice(PREVIEW_STACK_PREFIX.length);
  return isCleanSlug(slug) ? slug : undefined;
}
