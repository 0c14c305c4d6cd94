#include "channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "bearer_tokens.h"
#include "pem_file.h"

namespace crepe::client {

Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ChannelSecurity& s) {
  const bool tls = s.tls || !s.ca_file.empty() || !s.cert_file.empty() || !s.key_file.empty();
  if (!s.token_file.empty() && !tls) {
    return InvalidArgumentError("--token-file needs TLS (--tls or --ca): a bearer token must not travel in plain text");
  }
  if (s.cert_file.empty() != s.key_file.empty()) return InvalidArgumentError("--cert and --key go together");
  if (!tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!s.ca_file.empty()) {
    CREPE_ASSIGN_OR_RETURN(ssl.pem_root_certs, rpc::ReadPemFile(s.ca_file, "CA certificate (--ca)"));
  }
  if (!s.cert_file.empty()) {
    CREPE_ASSIGN_OR_RETURN(ssl.pem_cert_chain, rpc::ReadPemFile(s.cert_file, "client certificate (--cert)"));
    CREPE_ASSIGN_OR_RETURN(ssl.pem_private_key, rpc::ReadPemFile(s.key_file, "client key (--key)"));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  if (!s.token_file.empty()) {
    CREPE_ASSIGN_OR_RETURN(std::vector<std::string> tokens, rpc::ReadTokenFile(s.token_file));
    credentials = grpc::CompositeChannelCredentials(credentials, grpc::AccessTokenCredentials(tokens.front()));
  }
  return credentials;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments args;
  // Responses with activations or embeddings exceed gRPC's 4 MiB default; the server enforces its
  // own limit on what we send, so the client sets none.
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // gRPC backs off reconnecting to a dead server up to two minutes by default; a restarted
  // server should get work again within seconds.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  // A name with several addresses (a Kubernetes headless Service, DNS round robin) spreads calls
  // over all of them, call by call; one address behaves as before.
  args.SetLoadBalancingPolicyName("round_robin");
  // A ping after a minute without traffic finds a dead server or a dropped NAT mapping (the
  // server allows pings every 10 s or more).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  // Retries are ours (with back-off across servers); gRPC's transparent ones would hide them.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return grpc::CreateCustomChannel(address, credentials, args);
}

}  // namespace crepe::client
