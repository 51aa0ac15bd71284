// Moved to model/appContract.ts (issue 15: the app's env-var contract is part of the model).
// Re-exported here so existing imports from components/ keep working.
export * from "../model/appContract";
