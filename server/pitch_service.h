// The crepe.v1.PitchService implementation (gRPC callback API): thin reactors that validate a
// call, hand its audio to a PitchJob and send back what the job produces.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <string>

#include "crepe/v1/pitch.grpc.pb.h"
#include "model_registry.h"
#include "server_options.h"
#include "thread_pool.h"

namespace crepe::server {

class PitchService final : public v1::PitchService::CallbackService {
 public:
  PitchService(ModelRegistry& models, ThreadPool& pool, const ServerOptions& options);

  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* context, const v1::PredictRequest* request,
                                    v1::PredictResponse* response) override;
  grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>* StreamPredict(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context, const v1::ListModelsRequest* request,
                                       v1::ListModelsResponse* response) override;

  // Off during start-up and shutdown: new calls get UNAVAILABLE.
  void SetAccepting(bool accepting) { accepting_ = accepting; }

  // Shared with the reactors (pitch_service.cpp).
  struct Shared {
    ModelRegistry& models;
    ThreadPool& pool;
    ServerOptions options;
    std::atomic<bool>& accepting;
    std::atomic<int> active{0};
    std::atomic<int64_t> next_id{1};
  };

 private:
  std::atomic<bool> accepting_{false};
  Shared shared_;
};

}  // namespace crepe::server
