// components/render/scriptFile.ts: the header every rendered sh script shares (renderShScript) and
// bodies put one after another (a shared prologue). The rendered scripts themselves are checked by
// shellcheck and real runs (tests/consumers/) and their shipped text by the URN baseline.
import { renderScriptFile, renderShScript, scriptBody } from "../components/render/scriptFile";

describe("renderShScript", () => {
  it("writes the shebang, one `# ` line per comment, set -eu, the quoted settings, then the body", () => {
    expect(renderShScript("pg-extensions.sh", ["first line.", "second line."], [["extensions", "it's"]])).toBe(
      "#!/bin/sh\n# first line.\n# second line.\nset -eu\nextensions='it'\\''s'\n" + scriptBody("pg-extensions.sh"),
    );
  });

  it("puts a blank line after set -eu when asked, and nothing else changes", () => {
    const plain = renderShScript("pg-extensions.sh", ["c"], [["extensions", "x"]]);
    const blank = renderShScript("pg-extensions.sh", ["c"], [["extensions", "x"]], true);
    expect(blank).toBe(plain.replace("set -eu\n", "set -eu\n\n"));
  });

  it("is renderScriptFile with the usual header", () => {
    expect(renderShScript("release.sh", ["c"], [["name", "n"]])).toBe(renderScriptFile("release.sh", ["#!/bin/sh", "# c", "set -eu"], [["name", "n"]]));
  });
});

describe("renderScriptFile with several files", () => {
  it("puts their bodies one after another, in the order given, after the header", () => {
    const text = renderScriptFile(["preview-route-prologue.sh", "preview-route-remove.sh"], ["set -eu"], [["slug", "s"]]);
    expect(text).toBe("set -eu\nslug='s'\n" + scriptBody("preview-route-prologue.sh") + scriptBody("preview-route-remove.sh"));
    expect(scriptBody("preview-route-prologue.sh")).toContain("containers=$(docker ps -q");
  });
});
