// Bearer tokens: the token files both sides read, and the server's check, without gRPC so that it
// is unit-tested on its own. crepe-server runs the check inside gRPC's AuthMetadataProcessor
// (server/transport_security.cpp), before any handler; crepe-client sends the first token of its file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crepe/status.h"

namespace crepe::rpc {

// Tokens one per line; blank lines and lines starting with '#' are skipped, surrounding spaces
// trimmed. Errors name the file (never a token).
Result<std::vector<std::string>> ParseTokens(const std::string& text, const std::string& source);
Result<std::vector<std::string>> ReadTokenFile(const std::string& path);

// $CREPE_TOKENS: tokens separated by commas (empty when unset).
Result<std::vector<std::string>> TokensFromEnvironment();

class BearerTokens {
 public:
  explicit BearerTokens(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

  // Whether a call to `method_path` ("/package.Service/Method") carrying `authorization` (the
  // header's value, empty when absent) may proceed: the health service always may (probes hold no
  // secret); everything else needs "Bearer <one of the tokens>". Compares in time independent of
  // where a token differs.
  Status Check(std::string_view method_path, std::string_view authorization) const;

  size_t size() const { return tokens_.size(); }

 private:
  std::vector<std::string> tokens_;
};

}  // namespace crepe::rpc
