// The SDK's proto/resource_grpc_pb.js, loaded on first use (../grpcClients.js).
module.exports = require("../grpcClients").grpcClients("resource");
