// Moved to model/appEnv.ts (issue 15). Re-exported here so existing imports keep working.
export * from "../model/appEnv";
