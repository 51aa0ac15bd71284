// Extensions init script renderer for dedicated Postgres containers.
import { PgInitError, renderExtensionsInitScript, shellQuote, sqlIdentifier } from "../components/render/pgInit";

describe("renderExtensionsInitScript", () => {
  it("creates each extension in $POSTGRES_DB as $POSTGRES_USER, stopping on the first error", () => {
    const script = renderExtensionsInitScript(["vector", "uuid-ossp"]);
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).toContain("set -eu\n");
    // The body is scripts/pg-extensions.sh; the validated names are its one setting.
    expect(script).toContain("\nextensions='vector uuid-ossp'\n");
    expect(script).toContain("\nfor extension in $extensions; do\n");
    expect(script).toContain(
      `psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \\\n    -c "CREATE EXTENSION IF NOT EXISTS \\"$extension\\""`,
    );
  });

  it("renders a script with nothing to create for no extensions", () => {
    expect(renderExtensionsInitScript([])).toContain("\nextensions=''\n");
  });

  it.each(["", "pg trgm", "x;drop", "-v", "a'b", 'a"b', "$(id)", "a".repeat(64)])("rejects extension name %j", (name) => {
    expect(() => renderExtensionsInitScript([name])).toThrow(PgInitError);
  });

  it("rejects duplicates", () => {
    expect(() => renderExtensionsInitScript(["vector", "vector"])).toThrow(/twice/);
  });
});

describe("quoting helpers", () => {
  it("single-quotes for the shell, including embedded quotes", () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(shellQuote("$HOME `x`")).toBe(`'$HOME \`x\`'`);
  });
  it("double-quotes SQL identifiers", () => {
    expect(sqlIdentifier('we"ird')).toBe(`"we""ird"`);
  });
});
