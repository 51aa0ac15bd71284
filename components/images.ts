// Moved to model/images.ts (issue 15: the facts about third-party images are part of the model).
// Re-exported here so existing imports from components/ keep working.
export * from "../model/images";
