// The mocks harness is product code (the offline plan's engine): tools/harness/. Tests import it
// from here, as they always did.
export * from "../tools/harness";
