// The SDK's proto/engine_grpc_pb.js, loaded on first use (../grpcClients.js).
module.exports = require("../grpcClients").grpcClients("engine");
