#include "bearer_tokens.h"

#include <cstdlib>

#include "crepe/file_io.h"

namespace crepe::rpc {
namespace {

constexpr std::string_view kHealthPrefix = "/grpc.health.v1.Health/";
constexpr std::string_view kBearer = "Bearer ";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Equal contents, in time that depends only on the lengths.
bool SameBytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Result<std::vector<std::string>> Split(std::string_view text, char separator, const std::string& source) {
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view token = Trim(text.substr(start, end - start));
    if (!token.empty() && token.front() != '#') {
      for (char c : token) {
        // What may follow "Bearer " in an HTTP/2 header: visible ASCII without spaces.
        if (c < 0x21 || c > 0x7e) {
          return InvalidArgumentError(source + ": a token holds a space or a character that is not visible ASCII");
        }
      }
      tokens.emplace_back(token);
    }
    start = end + 1;
  }
  return tokens;
}

}  // namespace

Result<std::vector<std::string>> ParseTokens(const std::string& text, const std::string& source) {
  CREPE_ASSIGN_OR_RETURN(std::vector<std::string> tokens, Split(text, '\n', source));
  if (tokens.empty()) return InvalidArgumentError(source + " holds no token");
  return tokens;
}

Result<std::vector<std::string>> ReadTokenFile(const std::string& path) {
  Result<std::string> text = ReadFileBytes(path);
  if (!text.ok()) return Status(text.status().code(), "cannot read the token file " + path);
  return ParseTokens(*text, "the token file " + path);
}

Result<std::vector<std::string>> TokensFromEnvironment() {
  const char* value = std::getenv("CREPE_TOKENS");
  if (value == nullptr || *value == '\0') return std::vector<std::string>{};
  return Split(value, ',', "$CREPE_TOKENS");
}

Status BearerTokens::Check(std::string_view method_path, std::string_view authorization) const {
  if (method_path.substr(0, kHealthPrefix.size()) == kHealthPrefix) return Status::Ok();
  if (authorization.empty())
    return UnauthenticatedError("this server needs a bearer token (authorization: Bearer ...)");
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return UnauthenticatedError("the authorization header is not a bearer token");
  }
  const std::string_view given = authorization.substr(kBearer.size());
  bool match = false;
  for (const std::string& token : tokens_) match |= SameBytes(given, token);  // no early exit
  if (!match) return UnauthenticatedError("the bearer token is not one this server accepts");
  return Status::Ok();
}

}  // namespace crepe::rpc
