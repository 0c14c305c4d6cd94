#include "pitch_service.h"

#include "stream_call.h"
#include "unary_call.h"

namespace crepe::server {

PitchService::PitchService(ModelRegistry& models, ThreadPool& pool, const ServerOptions& options)
    : context_(models, pool, options) {}

grpc::ServerUnaryReactor* PitchService::Predict(grpc::CallbackServerContext* context, const v1::PredictRequest* request,
                                                v1::PredictResponse* response) {
  return new UnaryCall(context_, context, request, response);
}

grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>* PitchService::StreamPredict(
    grpc::CallbackServerContext* context) {
  return new StreamCall(context_, context);
}

grpc::ServerUnaryReactor* PitchService::ListModels(grpc::CallbackServerContext* context, const v1::ListModelsRequest*,
                                                   v1::ListModelsResponse* response) {
  const std::vector<ModelView> views = context_.models.Views();
  for (const ModelView& view : views) {
    v1::ModelStatus* m = response->add_models();
    ModelInfo info = view.info;
    info.capacity = view.capacity;
    FillModelRef(info, m->mutable_model());
    m->set_state(view.state == ModelState::kReady     ? v1::ModelStatus::STATE_READY
                 : view.state == ModelState::kLoading ? v1::ModelStatus::STATE_LOADING
                                                      : v1::ModelStatus::STATE_FAILED);
    m->set_error(view.error);
    m->set_embedding_width(ArchitectureOf(view.capacity).embedding_width);
    m->set_frames_processed(view.stats.frames);
    m->set_batches_run(view.stats.batches);
    m->set_max_batch_frames(view.max_batch);
    m->set_batches_shared(view.stats.shared_batches);
    m->set_largest_batch(view.stats.largest_batch);
    m->set_queued_frames(view.stats.queued_frames);
    m->set_reserved_frames(view.stats.reserved_frames);
    m->set_interactive_frames(view.stats.interactive_frames);
    m->set_failed_batches(view.stats.failed_batches);
    m->set_busy_seconds(view.stats.busy_ms / 1000.0);
    if (view.state == ModelState::kReady) {
      m->set_weights_bytes(view.info.resident_bytes);
      m->set_precision(std::string(PrecisionName(view.info.precision)));
      m->set_pass_frames(view.info.micro_batch);
      m->set_cuda_graphs(view.info.cuda_graphs);
    }
  }
  const std::string device = views.empty() ? "cpu" : views.front().info.device;
  const DeviceMemory memory = DeviceMemoryInUse(device);
  for (v1::ModelStatus& m : *response->mutable_models()) {
    m.set_device_allocated_bytes(memory.allocated_bytes);
    m.set_device_reserved_bytes(memory.reserved_bytes);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace crepe::server
