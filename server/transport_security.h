// How crepe-server admits connections and calls: TLS from certificate and key files, optionally
// requiring client certificates signed by a given CA (mutual TLS), and bearer tokens checked by
// gRPC's AuthMetadataProcessor before any handler runs (the health service needs none, so that
// probes hold no secret). Built once by main() before the server starts.
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>
#include <vector>

#include "crepe/status.h"
#include "server_options.h"

namespace crepe::server {

struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::string summary;                // for the start-up log line: "TLS, client certificates required, ..."
  std::vector<std::string> warnings;  // logged at warn level
};

// Reads the files the options name and builds the credentials. Errors name the file and what is
// wrong. Refused combinations (InvalidArgument): bearer tokens without TLS (they would travel in
// plain text), and a non-loopback --listen address without TLS unless --allow-insecure.
Result<ServerSecurity> MakeServerSecurity(const ServerOptions& options);

// Whether a --listen address only accepts connections from this machine (127.0.0.0/8, ::1,
// localhost, a unix socket).
bool IsLoopbackAddress(const std::string& listen);

}  // namespace crepe::server
