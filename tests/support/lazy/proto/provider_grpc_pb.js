// The SDK's proto/provider_grpc_pb.js, loaded on first use (../grpcClients.js).
module.exports = require("../grpcClients").grpcClients("provider");
