// The crepe.v1.PitchService implementation (gRPC callback API): hands each call to its reactor
// (unary_call.h, stream_call.h) and answers ListModels.
#pragma once

#include <grpcpp/grpcpp.h>

#include "crepe/thread_pool.h"
#include "crepe/v1/pitch.grpc.pb.h"
#include "model_registry.h"
#include "server_options.h"
#include "service_context.h"

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

  // Once every model is ready: new calls are taken.
  void StartAccepting() { context_.accepting = true; }
  // Any thread (the metrics endpoint's).
  std::string RenderMetrics() const { return server::RenderMetrics(context_); }
  // On SIGTERM/SIGINT: new calls get UNAVAILABLE; calls cut short by the end of the grace period
  // are logged as such.
  void BeginShutdown() {
    context_.shutting_down = true;
    context_.accepting = false;
  }

 private:
  ServiceContext context_;
};

}  // namespace crepe::server
