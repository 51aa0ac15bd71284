// The SDK's generated gRPC clients and services (@pulumi/pulumi/proto/<name>_grpc_pb.js for engine,
// resource, callback and provider), loaded on first use (see lazyModule.js): each calls
// grpc.makeGenericClientConstructor as it loads, which would load @grpc/grpc-js (grpc.js here) with
// it. The SDK requires them as it loads (runtime/settings.js, runtime/callbacks.js,
// provider/server.js) and uses them only to connect to a real engine; the plan defers them the same
// way (tools/harness/deferSdkModules.ts). jest.config.js maps each to its file in proto/ here.
"use strict";
const path = require("path");
const { lazyModule } = require("./lazyModule");

/** A stand-in for the SDK's proto/<name>_grpc_pb.js. The absolute path escapes the mapper. */
function grpcClients(name) {
  return lazyModule(() => require(path.join(path.dirname(require.resolve("@pulumi/pulumi")), "proto", `${name}_grpc_pb.js`)));
}

module.exports = { grpcClients };
