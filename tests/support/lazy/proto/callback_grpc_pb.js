// The SDK's proto/callback_grpc_pb.js, loaded on first use (../grpcClients.js).
module.exports = require("../grpcClients").grpcClients("callback");
