#include "model_registry.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <vector>

namespace crepe::server {
namespace {

class ModelRunner final : public NetworkRunner {
 public:
  ModelRunner(Model& model, bool cut_on_device, bool summarize_on_device, bool viterbi_on_device)
      : model_(model),
        cut_on_device_(cut_on_device),
        summarize_on_device_(summarize_on_device),
        viterbi_on_device_(viterbi_on_device) {}
  Status Run(const float* frames, int64_t n, float* activations, float* embeddings, const SummaryRequest* summaries,
             const ViterbiRequest* viterbi) override {
    return model_.Infer(frames, n, activations, embeddings, summaries, viterbi);
  }
  Status RunWindows(const float* samples, int64_t num_samples, const int64_t* starts, int64_t n, float* activations,
                    float* embeddings, const SummaryRequest* summaries, const ViterbiRequest* viterbi) override {
    return model_.InferWindows(samples, num_samples, starts, n, activations, embeddings, summaries, viterbi);
  }
  bool cuts_on_device() const override { return cut_on_device_; }
  bool summarizes_on_device() const override { return summarize_on_device_; }
  bool decodes_viterbi() const override { return viterbi_on_device_; }
  int embedding_width() const override { return model_.info().embedding_width; }
  std::string name() const override { return std::string(CapacityName(model_.info().capacity)); }

 private:
  Model& model_;
  const bool cut_on_device_;
  const bool summarize_on_device_;
  const bool viterbi_on_device_;
};

}  // namespace

ModelRegistry::ModelRegistry(const ServerOptions& options) : options_(options) {
  device_ = options.device == "auto" ? (CudaAvailable() ? "cuda" : "cpu") : options.device;
  for (const std::string& name : options.models) slots_[*ParseCapacity(name)] = std::make_unique<Slot>();
}

ModelRegistry::~ModelRegistry() { StopBatchers(); }

ModelOptions ModelRegistry::ModelOptionsFor(Capacity capacity) const {
  ModelOptions m;
  m.device = device_;
  m.precision = *ParsePrecision(PrecisionOf(options_, std::string(CapacityName(capacity))));
  const Result<ConvLayout> layout = ParseConvLayout(options_.conv_layout);
  m.layout = layout.ok() ? *layout : ConvLayout::kAuto;
  m.pass_frames = options_.pass_frames;
  m.cuda_graphs = options_.cuda_graphs;
  m.allow_unofficial_weights = options_.allow_unofficial_weights;
  return m;
}

Status ModelRegistry::LoadOne(Capacity capacity, Slot& slot) {
  const std::string path = options_.models_dir + "/" + std::string(CapacityName(capacity)) + ".h5";
  const auto start = std::chrono::steady_clock::now();
  if (options_.synthetic_weights) {
    spdlog::warn("model {}: serving SYNTHETIC weights (--synthetic-weights, for benchmarks): its pitch is meaningless",
                 CapacityName(capacity));
    CREPE_ASSIGN_OR_RETURN(slot.model, Model::Create(MakeSyntheticWeights(capacity), ModelOptionsFor(capacity)));
  } else {
    CREPE_ASSIGN_OR_RETURN(slot.model, Model::Load(path, capacity, ModelOptionsFor(capacity)));
  }
  const ModelInfo& info = slot.model->info();
  BatcherOptions b;
  b.max_batch = options_.max_batch > 0              ? options_.max_batch
                : info.device.rfind("cuda", 0) == 0 ? std::max<int64_t>(1024, info.micro_batch)
                                                    : 256;
  b.max_delay = std::chrono::microseconds(static_cast<int64_t>(std::llround(options_.batch_delay_ms * 1000)));
  b.max_queued_frames = options_.max_queued_frames;
  b.quantum = std::max<int64_t>(1, std::min(info.micro_batch, b.max_batch));
  const bool on_cuda = info.device.rfind("cuda", 0) == 0;
  const bool cut_on_device = options_.frame_cutting == "device" || (options_.frame_cutting == "auto" && on_cuda);
  // Viterbi on the device reads the frames' summaries there: it implies them. It is used only once
  // it has decided a test batch exactly as the CPU decoder does (its kernels run nowhere else).
  // auto: only with the fused kernels (else a GPU would take several launches per frame).
  bool viterbi_on_device =
      options_.viterbi_decoding == "device" ||
      (options_.viterbi_decoding == "auto" && on_cuda && options_.frame_summaries != "host" && ViterbiKernelsBuilt());
  if (viterbi_on_device) {
    const Status check = CheckDeviceViterbi(info.device);
    if (!check.ok()) {
      spdlog::error("model {}: Viterbi stays on the host: {}", CapacityName(capacity), check.ToString());
      viterbi_on_device = false;
    }
  }
  const bool summarize_on_device =
      viterbi_on_device || options_.frame_summaries == "device" || (options_.frame_summaries == "auto" && on_cuda);
  // Warm-up: one full batch through the network (allocations, kernel selection), summarised too
  // where batches will be.
  std::vector<float> frames(static_cast<size_t>(b.max_batch) * kFrameLength);
  for (size_t i = 0; i < frames.size(); ++i) frames[i] = static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
  std::vector<float> activations(static_cast<size_t>(b.max_batch) * kPitchBins);
  std::vector<float> embeddings(static_cast<size_t>(b.max_batch) * kEmbeddingRows * info.embedding_width);
  const std::vector<BinRange> ranges(static_cast<size_t>(b.max_batch));
  std::vector<FrameSummary> summaries(ranges.size());
  const SummaryRequest warm_summaries{ranges.data(), summaries.data()};
  // And, where Viterbi runs on the device, one stream (id 0, which no call has) through the batch.
  std::vector<std::vector<FrameSummary>> decided;
  const ViterbiRequest warm_viterbi{{{0, Decoder::kViterbi, BinRange{}, 0, 0, b.max_batch, true}}, {}, &decided};
  CREPE_RETURN_IF_ERROR(slot.model->Infer(frames.data(), b.max_batch, activations.data(), embeddings.data(),
                                          summarize_on_device ? &warm_summaries : nullptr,
                                          viterbi_on_device ? &warm_viterbi : nullptr));
  slot.runner = std::make_unique<ModelRunner>(*slot.model, cut_on_device, summarize_on_device, viterbi_on_device);
  slot.batcher = std::make_unique<FrameBatcher>(*slot.runner, b);
  const DeviceMemory memory = DeviceMemoryInUse(info.device);
  spdlog::info(
      "model {} ready on {} in {:.1f} s (weights sha256 {}, {}, {}, pass {} frames, batch {} frames, CUDA graphs {}, "
      "own stream {}, frames cut on the {}, summarised on the {}, Viterbi on the {}; weights {:.1f} MiB; device memory "
      "of this process now {:.1f} MiB "
      "allocated, {:.1f} MiB reserved)",
      CapacityName(capacity), info.device,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), info.weights_sha256,
      PrecisionName(info.precision), ConvLayoutName(info.layout), info.micro_batch, b.max_batch,
      info.cuda_graphs ? "on" : "off", info.own_stream ? "yes" : "no", cut_on_device ? "device" : "host",
      summarize_on_device ? "device" : "host", viterbi_on_device ? "device" : "host", info.resident_bytes / 1048576.0,
      memory.allocated_bytes / 1048576.0, memory.reserved_bytes / 1048576.0);
  return Status::Ok();
}

Status ModelRegistry::LoadAll(const std::atomic<bool>& stop) {
  Status first_error;
  for (auto& [capacity, slot] : slots_) {
    if (stop.load()) return CancelledError("model loading stopped: the server is shutting down");
    const Status s = LoadOne(capacity, *slot);
    if (s.ok()) {
      slot->state = ModelState::kReady;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      slot->error = s.ToString();
    }
    slot->state = ModelState::kFailed;
    spdlog::error("model {} failed to load: {}", CapacityName(capacity), s.ToString());
    if (first_error.ok()) first_error = s.WithContext(std::string(CapacityName(capacity)));
  }
  return first_error;
}

Result<std::pair<Model*, FrameBatcher*>> ModelRegistry::Get(Capacity capacity) const {
  auto it = slots_.find(capacity);
  if (it == slots_.end()) {
    return NotFoundError("model " + std::string(CapacityName(capacity)) +
                         " is not loaded on this server (see ListModels)");
  }
  const Slot& slot = *it->second;
  switch (slot.state.load()) {
    case ModelState::kReady:
      return std::make_pair(slot.model.get(), slot.batcher.get());
    case ModelState::kLoading:
      return UnavailableError("model " + std::string(CapacityName(capacity)) + " is still loading; retry shortly");
    case ModelState::kFailed:
      break;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return UnavailableError("model " + std::string(CapacityName(capacity)) + " failed to load: " + slot.error);
}

std::vector<ModelView> ModelRegistry::Views() const {
  std::vector<ModelView> views;
  for (const auto& [capacity, slot] : slots_) {
    ModelView v{capacity, slot->state.load(), "", {}, {}, 0};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      v.error = slot->error;
    }
    if (v.state == ModelState::kReady) {
      v.info = slot->model->info();
      v.stats = slot->batcher->stats();
      v.max_batch = slot->batcher->options().max_batch;
    } else {
      v.info.device = device_;
    }
    views.push_back(std::move(v));
  }
  return views;
}

void ModelRegistry::StopBatchers() {
  for (auto& [capacity, slot] : slots_) {
    if (slot->state.load() == ModelState::kReady && slot->batcher) slot->batcher->Stop();
  }
}

}  // namespace crepe::server
