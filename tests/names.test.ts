// model/names.ts: the one definition of an environment's physical names.
import { databaseName, namePrefix, PG_IDENTIFIER_MAX, previewDatabaseName } from "../model/names";
import { PREVIEW_APP_NAME_MAX_LENGTH } from "../model/handoff";
import { PREVIEW_SLUG_MAX_LENGTH } from "../model/slug";

describe("physical names", () => {
  it("prefixes Docker names with <app>-<env>", () => {
    expect(namePrefix("gigi", "prod")).toBe("gigi-prod");
    expect(namePrefix("my-app", "dev")).toBe("my-app-dev");
  });

  it("names databases and roles <app>_<env> and <app>_preview_<slug>, with '-' as '_'", () => {
    expect(databaseName("my-app", "dev")).toBe("my_app_dev");
    expect(previewDatabaseName("my-app", "feature-login")).toBe("my_app_preview_feature_login");
  });

  it("keeps the longest preview database name within Postgres's identifier length", () => {
    const name = previewDatabaseName("a".repeat(PREVIEW_APP_NAME_MAX_LENGTH), "s".repeat(PREVIEW_SLUG_MAX_LENGTH));
    expect(name.length).toBe(PG_IDENTIFIER_MAX);
  });
});
