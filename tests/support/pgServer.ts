// The throwaway PostgreSQL cluster of the real-consumer tests is product code shared with the
// sampler's benchmark (tools/bench-sample.ts): tools/pgServer.ts. Product code never imports tests/.
export * from "../../tools/pgServer";
