// The Makapix-like schema and data the sampler's consumer test and its benchmark
// (tools/bench-sample.ts) share live in the product: tools/makapixSchema.ts.
export * from "../../tools/makapixSchema";
