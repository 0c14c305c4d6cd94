// How crepe-client connects to a server: one gRPC channel per address, set up for large
// messages, quick reconnection after a server restarts, and calls spread over every address a
// name resolves to.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

namespace crepe::client {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

}  // namespace crepe::client
