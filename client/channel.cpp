#include "channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

namespace crepe::client {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
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
  // Retries are ours (with back-off across servers); gRPC's transparent ones would hide them.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace crepe::client
