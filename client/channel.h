// How crepe-client connects to a server: one gRPC channel per address, set up for large
// messages, quick reconnection after a server restarts, and calls spread over every address a
// name resolves to; plain text, or TLS (optionally with a client certificate) with a bearer token.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "crepe/status.h"

namespace crepe::client {

// --tls, --ca, --cert/--key, --token-file.
struct ChannelSecurity {
  bool tls = false;       // implied by any of the files below
  std::string ca_file;    // trust this CA (PEM) instead of the system's
  std::string cert_file;  // client certificate (PEM), for servers that require one; needs key_file
  std::string key_file;
  std::string token_file;  // sent as "authorization: Bearer <first token>" with every call; needs TLS
};

// Credentials for these settings, reading the files now; errors name the file.
Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ChannelSecurity& security);

std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials = grpc::InsecureChannelCredentials());

}  // namespace crepe::client
