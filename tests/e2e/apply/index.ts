// Every handler of the e2e applier, by resource type token (the registry engine.ts realises with).
import { commandHandlers } from "./command";
import { dockerHandlers } from "./docker";
import { postgresqlHandlers } from "./postgresql";
import { randomHandlers } from "./random";
import { tlsHandlers } from "./tls";
import { HandlerRegistry } from "./types";

export const handlers: HandlerRegistry = {
  ...randomHandlers,
  ...tlsHandlers,
  ...commandHandlers,
  ...dockerHandlers,
  ...postgresqlHandlers,
};
