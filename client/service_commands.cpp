#include "service_commands.h"

#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>

#include "channel.h"
#include "crepe/v1/pitch.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "status_mapping.h"

namespace crepe::client {
namespace {

std::chrono::system_clock::time_point Deadline(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(seconds));
}

const char* StateName(v1::ModelStatus::State state) {
  switch (state) {
    case v1::ModelStatus::STATE_LOADING:
      return "LOADING";
    case v1::ModelStatus::STATE_READY:
      return "READY";
    case v1::ModelStatus::STATE_FAILED:
      return "FAILED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

int RunHealth(const std::vector<std::string>& servers, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
              const std::string& service, double timeout_s) {
  bool all_serving = true;
  for (const std::string& address : servers) {
    auto stub = grpc::health::v1::Health::NewStub(MakeChannel(address, credentials));
    grpc::ClientContext context;
    context.set_deadline(Deadline(timeout_s));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    const Status s = rpc::FromGrpcStatus(stub->Check(&context, request, &response));
    if (!s.ok()) {
      std::printf("%s: %s\n", address.c_str(), s.ToString().c_str());
      all_serving = false;
      continue;
    }
    std::printf("%s: %s\n", address.c_str(),
                grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()).c_str());
    all_serving = all_serving && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }
  return all_serving ? 0 : 1;
}

int RunModels(const std::vector<std::string>& servers, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
              double timeout_s) {
  bool all_answered = true;
  for (const std::string& address : servers) {
    auto stub = v1::PitchService::NewStub(MakeChannel(address, credentials));
    grpc::ClientContext context;
    context.set_deadline(Deadline(timeout_s));
    v1::ListModelsResponse response;
    const Status s = rpc::FromGrpcStatus(stub->ListModels(&context, v1::ListModelsRequest{}, &response));
    if (servers.size() > 1) std::printf("%s%s\n", address == servers.front() ? "" : "\n", address.c_str());
    if (!s.ok()) {
      std::fprintf(stderr, "crepe-client: error: %s: %s\n", address.c_str(), s.ToString().c_str());
      all_answered = false;
      continue;
    }
    std::printf("%-8s  %-8s  %-8s  %-9s  %11s  %6s  %-64s  %16s\n", "capacity", "state", "device", "precision",
                "weights MiB", "pass", "weights sha256", "frames processed");
    for (const v1::ModelStatus& m : response.models()) {
      std::printf("%-8s  %-8s  %-8s  %-9s  %11.1f  %6lld  %-64s  %16lld\n", m.model().name().c_str(),
                  StateName(m.state()), m.model().device().c_str(), m.precision().c_str(),
                  static_cast<double>(m.weights_bytes()) / 1048576.0, static_cast<long long>(m.pass_frames()),
                  m.model().weights_sha256().c_str(), static_cast<long long>(m.frames_processed()));
      if (!m.error().empty()) std::printf("          error: %s\n", m.error().c_str());
    }
    if (response.models_size() > 0 && response.models(0).device_reserved_bytes() > 0) {
      std::printf("device memory of the server: %.1f MiB allocated, %.1f MiB reserved\n",
                  static_cast<double>(response.models(0).device_allocated_bytes()) / 1048576.0,
                  static_cast<double>(response.models(0).device_reserved_bytes()) / 1048576.0);
    }
  }
  return all_answered ? 0 : 1;
}

}  // namespace crepe::client
