// crepe-client health and crepe-client models: quick questions to running servers.
#pragma once

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>
#include <vector>

namespace crepe::client {

// grpc.health.v1 Check (service "") on each server; prints "<address>: <status>". Returns 0 only
// when every server is SERVING, 1 otherwise (including unreachable).
int RunHealth(const std::vector<std::string>& servers, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
              const std::string& service, double timeout_s);

// ListModels on each server; prints a table of capacity, state, device, weights sha256 and
// frames processed. Returns 0 when every server answered, 1 otherwise.
int RunModels(const std::vector<std::string>& servers, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
              double timeout_s);

}  // namespace crepe::client
