#include "transport_security.h"

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>

#include "bearer_tokens.h"
#include "pem_file.h"
#include "status_mapping.h"

namespace crepe::server {
namespace {

std::string Find(const grpc::AuthMetadataProcessor::InputMetadata& metadata, const char* key) {
  const auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

// Runs on gRPC's transport threads for every call, before the call reaches a handler.
class BearerTokenProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit BearerTokenProcessor(rpc::BearerTokens tokens) : tokens_(std::move(tokens)) {}

  bool IsBlocking() const override { return false; }  // a few string compares

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* /*context*/, OutputMetadata* consumed,
                       OutputMetadata* /*response*/) override {
    const std::string authorization = Find(metadata, "authorization");
    const Status verdict = tokens_.Check(Find(metadata, ":path"), authorization);
    if (!verdict.ok()) return rpc::ToGrpcStatus(verdict);
    if (!authorization.empty()) consumed->emplace("authorization", authorization);  // handlers never see it
    return grpc::Status::OK;
  }

 private:
  const rpc::BearerTokens tokens_;
};

}  // namespace

bool IsLoopbackAddress(const std::string& listen) {
  if (listen.rfind("unix:", 0) == 0) return true;
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Result<ServerSecurity> MakeServerSecurity(const ServerOptions& o) {
  ServerSecurity security;
  std::vector<std::string> tokens;
  if (!o.token_file.empty()) {
    CREPE_ASSIGN_OR_RETURN(tokens, rpc::ReadTokenFile(o.token_file));
  }
  CREPE_ASSIGN_OR_RETURN(std::vector<std::string> from_env, rpc::TokensFromEnvironment());
  tokens.insert(tokens.end(), from_env.begin(), from_env.end());
  const bool tls = !o.tls_cert.empty();
  if (!tokens.empty() && !tls) {
    return InvalidArgumentError(
        "bearer tokens (--token-file, $CREPE_TOKENS) need TLS (--tls-cert and --tls-key): they must not travel in "
        "plain text");
  }
  if (!tls) {
    security.credentials = grpc::InsecureServerCredentials();
    security.summary = "plain text, no authentication";
    if (!IsLoopbackAddress(o.listen)) {
      if (!o.allow_insecure) {
        return InvalidArgumentError(
            "--listen " + o.listen +
            " accepts connections from other machines, in plain text and without authentication: give "
            "--tls-cert/--tls-key (and --token-file or --tls-client-ca), or --allow-insecure to do it anyway "
            "(a private network, TLS ended in front of the server)");
      }
      security.warnings.push_back("listening on " + o.listen +
                                  " in plain text without authentication (--allow-insecure): anyone who can reach "
                                  "this address can call the server and read its traffic");
    }
    return security;
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  CREPE_ASSIGN_OR_RETURN(pair.cert_chain, rpc::ReadPemFile(o.tls_cert, "TLS certificate (--tls-cert)"));
  CREPE_ASSIGN_OR_RETURN(pair.private_key, rpc::ReadPemFile(o.tls_key, "TLS key (--tls-key)"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  security.summary = "TLS";
  if (!o.tls_client_ca.empty()) {
    CREPE_ASSIGN_OR_RETURN(ssl.pem_root_certs, rpc::ReadPemFile(o.tls_client_ca, "client CA (--tls-client-ca)"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    security.summary += ", client certificates signed by " + o.tls_client_ca + " required";
  }
  security.credentials = grpc::SslServerCredentials(ssl);
  if (!tokens.empty()) {
    security.credentials->SetAuthMetadataProcessor(std::make_shared<BearerTokenProcessor>(rpc::BearerTokens(tokens)));
    security.summary += ", bearer tokens (" + std::to_string(tokens.size()) + ") required except for health";
  } else if (o.tls_client_ca.empty() && !IsLoopbackAddress(o.listen)) {
    security.warnings.push_back("TLS without client authentication on " + o.listen +
                                ": anyone who can reach this address can call the server (add --token-file or "
                                "--tls-client-ca)");
  }
  return security;
}

}  // namespace crepe::server
