#include "crepe/model.h"

#include <ATen/Context.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <regex>

#include "crepe/weights.h"
#include "model/clip_pipeline.h"
#include "model/cuda_graph_pass.h"
#include "model/device_decode.h"
#include "model/device_framing.h"
#include "model/network.h"
#include "model/viterbi_streams.h"

namespace crepe {
namespace {

Result<torch::Device> ParseDevice(const std::string& spec) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  static const std::regex kCuda(R"(cuda(?::(\d{1,3}))?)");
  std::smatch m;
  if (!std::regex_match(spec, m, kCuda)) {
    return InvalidArgumentError("unknown device '" + spec + "' (expected cpu, cuda or cuda:N)");
  }
  const int index = m[1].matched ? std::stoi(m[1].str()) : 0;
  if (!torch::cuda::is_available()) {
    return FailedPreconditionError("device '" + spec + "' requested but no CUDA device is available to this process");
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    return InvalidArgumentError("device '" + spec + "' requested but only " + std::to_string(count) +
                                " CUDA device(s) exist");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

// Turns anything LibTorch throws into a Status; exceptions never leave the core.
template <typename F>
Status Guarded(const char* what, F&& body) {
  try {
    return body();
  } catch (const c10::OutOfMemoryError& e) {
    return ResourceExhaustedError(std::string(what) +
                                  ": out of device memory (lower the batch size): " + e.what_without_backtrace());
  } catch (const c10::Error& e) {
    return InternalError(std::string(what) + ": " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError(std::string(what) + ": out of memory (lower the batch size)");
  } catch (const std::exception& e) {
    return InternalError(std::string(what) + ": " + e.what());
  }
}

// Frames per forward pass. Large enough to keep the device busy, small enough that padding a
// short clip's last pass costs little. The CUDA figure is a starting point for bench/gpu/run.sh,
// which times 256 to 8192 on the device.
constexpr int64_t kCpuPassFrames = 32;
constexpr int64_t kCudaPassFrames = 1024;
constexpr int64_t kMaxPassFrames = 1 << 16;

// A stream of the model's own from LibTorch's pool (through c10's device-generic interface, which
// needs no CUDA headers), so that the batches of different models run concurrently. The pool
// hands out its 32 streams in turn: distinct for the server's five models (more than 32 models
// on one device would share streams, which is still correct, only less concurrent).
c10::Stream NewStream(const torch::Device& device) {
  return c10::impl::getDeviceGuardImpl(device.type())->getStreamFromGlobalPool(device, /*isHighPriority=*/false);
}

}  // namespace

namespace {

// Each enum's names, in one table for both directions.
constexpr std::pair<Precision, std::string_view> kPrecisionNames[] = {
    {Precision::kFp32, "fp32"}, {Precision::kTf32, "tf32"}, {Precision::kBf16, "bf16"}, {Precision::kFp16, "fp16"}};
constexpr std::pair<ConvLayout, std::string_view> kLayoutNames[] = {{ConvLayout::kAuto, "auto"},
                                                                    {ConvLayout::kChannelsFirst, "channels_first"},
                                                                    {ConvLayout::kChannelsLast, "channels_last"}};

template <typename E, size_t N>
Result<E> ByName(const std::pair<E, std::string_view> (&names)[N], std::string_view name, const char* what) {
  std::string known;
  for (const auto& [value, n] : names) {
    if (n == name) return value;
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  return InvalidArgumentError("unknown " + std::string(what) + " '" + std::string(name) + "' (expected " + known + ")");
}

template <typename E, size_t N>
std::string_view NameOf(const std::pair<E, std::string_view> (&names)[N], E value) {
  for (const auto& [v, n] : names) {
    if (v == value) return n;
  }
  return "?";
}

}  // namespace

Result<Precision> ParsePrecision(std::string_view name) { return ByName(kPrecisionNames, name, "precision"); }
std::string_view PrecisionName(Precision p) { return NameOf(kPrecisionNames, p); }
Result<ConvLayout> ParseConvLayout(std::string_view name) { return ByName(kLayoutNames, name, "layout"); }
std::string_view ConvLayoutName(ConvLayout l) { return NameOf(kLayoutNames, l); }

// Threads: every member is used under `mutex` (Infer, PredictClips), except `info`, which is
// written once by Create.
struct Model::Impl {
  ModelInfo info;
  torch::Device device{torch::kCPU};
  std::unique_ptr<Network> network;
  std::mutex mutex;
  std::optional<c10::Stream> stream;  // CUDA: the model's own
  torch::Tensor staging;              // host (pass x 1024), pinned on CUDA
  torch::Tensor activations_host;     // host (pass x 360), pinned on CUDA
  torch::Tensor embeddings_host;      // host (pass x 32 x width), pinned on CUDA
  torch::Tensor ranges_host;          // host (pass x 2) int64 bin ranges, pinned on CUDA
  torch::Tensor summaries_host;       // host (pass x kSummaryColumns) float64, pinned on CUDA
  torch::Tensor graph_input;          // device (pass x 1024): the captured graph's input
  std::unique_ptr<GraphPass> graph;
  std::unique_ptr<ViterbiStreams> viterbi;  // the streams of ViterbiRequests, once there is one
  std::vector<torch::Tensor> viterbi_rows;  // the passes' activations of a call with a ViterbiRequest

  // After a call's passes: its Viterbi parts, from the activations kept by KeepForViterbi.
  Status AdvanceViterbi(const SummaryRequest* summaries, const ViterbiRequest& request) {
    if (!viterbi) viterbi = std::make_unique<ViterbiStreams>(device);
    const torch::Tensor rows = viterbi_rows.empty() ? torch::Tensor() : torch::cat(viterbi_rows);
    viterbi_rows.clear();
    Result<std::vector<std::vector<FrameSummary>>> decided =
        viterbi->Advance(rows, summaries != nullptr ? summaries->summaries : nullptr, request.parts);
    viterbi->Forget(request.forget);
    if (!decided.ok()) {
      // The parts' streams are in no known state: the caller fails those calls.
      std::vector<uint64_t> failed;
      for (const ViterbiPart& p : request.parts) failed.push_back(p.stream);
      viterbi->Forget(failed);
      return decided.status();
    }
    *request.decided = std::move(*decided);
    return Status::Ok();
  }
  // A pass's activations, copied (a graph's outputs are overwritten by the next pass), for AdvanceViterbi.
  void KeepForViterbi(const torch::Tensor& act) {
    viterbi_rows.push_back(act.to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true));
  }

  // One pass over `frames` (count <= pass frames, on the device): activations (count x 360)
  // and embeddings (count x 32 x width, when asked or when a graph computes them anyway), on the
  // device. The pass always has the full shape, the tail padded with silence.
  std::pair<torch::Tensor, std::optional<torch::Tensor>> RunPass(const torch::Tensor& frames, bool want_embedding) {
    const int64_t count = frames.size(0), pass = info.micro_batch;
    if (graph) {
      graph_input.narrow(0, 0, count).copy_(frames, /*non_blocking=*/true);
      if (count < pass) graph_input.narrow(0, count, pass - count).zero_();
      graph->Replay();
      return {graph->activations().narrow(0, 0, count), graph->embeddings().narrow(0, 0, count)};
    }
    torch::Tensor input = frames;
    if (count < pass) input = torch::cat({frames, torch::zeros({pass - count, kFrameLength}, frames.options())});
    auto [act, emb] = network->Forward(input, want_embedding);
    if (emb) emb = emb->narrow(0, 0, count);
    return {act.narrow(0, 0, count), emb};
  }
  void Synchronize() {
    if (stream) stream->synchronize();
  }
  // Runs `body` under the model's mutex, on its stream, in inference mode; whatever LibTorch
  // throws becomes a Status. After a failure the stream is drained before the mutex goes, so that
  // no copy queued from the reused host buffers is still pending when the next call writes them.
  template <typename F>
  Status Locked(const char* what, F&& body) {
    std::lock_guard<std::mutex> lock(mutex);
    Status status = Guarded(what, [&]() -> Status {
      std::optional<c10::StreamGuard> on_stream;
      if (stream) on_stream.emplace(*stream);
      c10::InferenceMode inference_mode;
      return body();
    });
    if (!status.ok() && stream) {
      (void)Guarded("draining the model's stream", [&]() -> Status {
        Synchronize();
        return Status::Ok();
      });
    }
    return status;
  }
  // One pass's outputs (count rows, on the device) into rows [first, first + count) of the
  // caller's buffers (each may be null), through the pinned host buffers; summarised on the
  // device first when asked. Waits for the model's stream only.
  void CopyOut(const torch::Tensor& act, const std::optional<torch::Tensor>& emb, int64_t first, int64_t count,
               float* activations, float* embeddings, const SummaryRequest* summaries) {
    const bool with_embeddings = embeddings != nullptr && emb.has_value();
    if (summaries != nullptr) {
      int64_t* ranges = ranges_host.data_ptr<int64_t>();
      for (int64_t i = 0; i < count; ++i) {
        ranges[2 * i] = summaries->ranges[first + i].lo;
        ranges[2 * i + 1] = summaries->ranges[first + i].hi;
      }
      const torch::Tensor range = ranges_host.narrow(0, 0, count).to(device, /*non_blocking=*/true);
      summaries_host.narrow(0, 0, count)
          .copy_(SummarizeRows(act.to(torch::kFloat32), range.select(1, 0), range.select(1, 1)), /*non_blocking=*/true);
    }
    if (activations != nullptr) activations_host.narrow(0, 0, count).copy_(act, /*non_blocking=*/true);
    if (with_embeddings) embeddings_host.narrow(0, 0, count).copy_(*emb, /*non_blocking=*/true);
    Synchronize();
    if (activations != nullptr) {
      std::memcpy(activations + first * kPitchBins, activations_host.data_ptr<float>(),
                  sizeof(float) * count * kPitchBins);
    }
    if (with_embeddings) {
      const int64_t size = int64_t{kEmbeddingRows} * info.embedding_width;
      std::memcpy(embeddings + first * size, embeddings_host.data_ptr<float>(), sizeof(float) * count * size);
    }
    if (summaries != nullptr) {
      const double* row = summaries_host.data_ptr<double>();
      for (int64_t i = 0; i < count; ++i, row += kSummaryColumns) {
        FrameSummary& out = summaries->summaries[first + i];
        out.bin = static_cast<int32_t>(row[0]);
        out.bin_activation = static_cast<float>(row[1]);
        out.confidence = static_cast<float>(row[2]);
        out.local_average_cents = row[3];
      }
    }
  }
};

namespace {

// The checks Infer and InferWindows share on their output buffers.
Status CheckOutputs(int64_t n, const float* activations, const SummaryRequest* summaries,
                    const ViterbiRequest* viterbi) {
  if (viterbi != nullptr) {
    if (viterbi->decided == nullptr) return InvalidArgumentError("a Viterbi request without its output");
    if (n > 0 && summaries == nullptr) return InvalidArgumentError("a Viterbi request needs frame summaries");
    for (const ViterbiPart& p : viterbi->parts) {
      if (p.count < 0 || p.row < 0 || p.row + p.count > n) {
        return InvalidArgumentError("a Viterbi part's rows [" + std::to_string(p.row) + ", " +
                                    std::to_string(p.row + p.count) + ") are outside the " + std::to_string(n) +
                                    " frames");
      }
    }
  }
  if (n == 0) return Status::Ok();
  if (summaries != nullptr && (summaries->ranges == nullptr || summaries->summaries == nullptr)) {
    return InvalidArgumentError("a summary request without its range or summary buffer");
  }
  if (activations == nullptr && summaries == nullptr) return InvalidArgumentError("null activation buffer");
  if (summaries != nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      const BinRange& r = summaries->ranges[i];
      if (r.lo < 0 || r.hi >= kPitchBins || r.hi < r.lo) {
        return InvalidArgumentError("frame " + std::to_string(i) + " has an invalid bin range [" +
                                    std::to_string(r.lo) + ", " + std::to_string(r.hi) + "]");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::Load(const std::string& weights_path, Capacity capacity,
                                           const ModelOptions& options) {
  // The device is checked first: a missing GPU is the clearer error.
  Status device_status = Guarded("loading the model", [&]() -> Status { return ParseDevice(options.device).status(); });
  if (!device_status.ok()) return device_status;
  CREPE_ASSIGN_OR_RETURN(
      CrepeWeights weights,
      LoadKerasWeights(weights_path, capacity,
                       options.allow_unofficial_weights ? WeightsTrust::kAnyFile : WeightsTrust::kOfficialOnly));
  return Create(weights, options);
}

Result<std::unique_ptr<Model>> Model::Create(const CrepeWeights& weights, const ModelOptions& options) {
  // A frame's result must not depend on its row in the pass: oneDNN computes rows past the last
  // multiple of 8 with other kernels (seen on CPU with a pass of 7).
  if (options.pass_frames < 0 || options.pass_frames > kMaxPassFrames || options.pass_frames % 8 != 0) {
    return InvalidArgumentError("pass size " + std::to_string(options.pass_frames) +
                                " frames must be a multiple of 8 in [8, " + std::to_string(kMaxPassFrames) +
                                "] (0: the device's default)");
  }
  std::unique_ptr<Impl> impl;
  Status status = Guarded("loading the model", [&]() -> Status {
    impl = std::make_unique<Impl>();
    CREPE_ASSIGN_OR_RETURN(impl->device, ParseDevice(options.device));
    const bool cuda = impl->device.is_cuda();
    const Capacity capacity = weights.capacity;
    ModelInfo& info = impl->info;
    info.micro_batch = options.pass_frames > 0 ? options.pass_frames : (cuda ? kCudaPassFrames : kCpuPassFrames);
    info.capacity = capacity;
    info.device = impl->device.str();
    info.weights_path = weights.path;
    info.weights_sha256 = weights.sha256;
    info.embedding_width = ArchitectureOf(capacity).embedding_width;
    info.precision = options.precision;
    info.layout = Network::ResolveLayout(options.layout, impl->device, options.precision);
    if (cuda) {
      impl->stream = NewStream(impl->device);
      info.own_stream = true;
    }
    std::optional<c10::StreamGuard> on_stream;
    if (impl->stream) on_stream.emplace(*impl->stream);
    c10::InferenceMode inference_mode;
    impl->network = std::make_unique<Network>(weights, impl->device, options.precision, info.layout);
    info.resident_bytes = impl->network->ResidentBytes();
    const auto host = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(cuda);
    const int64_t pass = info.micro_batch;
    impl->staging = torch::zeros({pass, kFrameLength}, host);
    impl->activations_host = torch::empty({pass, kPitchBins}, host);
    impl->embeddings_host = torch::empty({pass, kEmbeddingRows, info.embedding_width}, host);
    impl->ranges_host = torch::empty({pass, 2}, host.dtype(torch::kInt64));
    impl->summaries_host = torch::empty({pass, kSummaryColumns}, host.dtype(torch::kFloat64));
    if (cuda && options.cuda_graphs && CudaGraphsBuilt()) {
      impl->graph_input =
          torch::zeros({pass, kFrameLength}, torch::TensorOptions().dtype(torch::kFloat32).device(impl->device));
      impl->graph = GraphPass::Capture(*impl->network, impl->graph_input);
      info.cuda_graphs = impl->graph != nullptr;
    }
    impl->Synchronize();
    return Status::Ok();
  });
  if (!status.ok()) return status;
  try {
    return std::unique_ptr<Model>(new Model(std::move(impl)));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory loading the model");
  }
}

Status Model::Infer(const float* frames, int64_t n, float* activations, float* embeddings,
                    const SummaryRequest* summaries, const ViterbiRequest* viterbi) {
  if (n < 0) return InvalidArgumentError("negative frame count");
  if (n == 0 && viterbi == nullptr) return Status::Ok();
  if (n > 0 && frames == nullptr) return InvalidArgumentError("null frame buffer");
  CREPE_RETURN_IF_ERROR(CheckOutputs(n, activations, summaries, viterbi));
  Impl& m = *impl_;
  return m.Locked("running the network", [&]() -> Status {
    const int64_t pass = m.info.micro_batch;
    // Every forward pass has the same shape, the tail padded with silent frames: convolution
    // libraries pick their algorithm (and so their rounding) by shape, and a frame's result must
    // not depend on how many frames came with it (a different batch size, or the server's
    // batcher pooling requests). Within one shape, each frame's result is independent of the
    // others.
    for (int64_t first = 0; first < n; first += pass) {
      const int64_t count = std::min(pass, n - first);
      // The host buffers are reused by the next pass: the synchronisation at the end of this
      // one keeps the asynchronous copies from overtaking each other.
      std::memcpy(m.staging.data_ptr<float>(), frames + first * kFrameLength, sizeof(float) * count * kFrameLength);
      const torch::Tensor input = m.staging.narrow(0, 0, count).to(m.device, /*non_blocking=*/true);
      auto [act, emb] = m.RunPass(input, embeddings != nullptr);
      if (viterbi != nullptr) m.KeepForViterbi(act);
      m.CopyOut(act, emb, first, count, activations, embeddings, summaries);
    }
    return viterbi != nullptr ? m.AdvanceViterbi(summaries, *viterbi) : Status::Ok();
  });
}

Status Model::InferWindows(const float* samples, int64_t num_samples, const int64_t* starts, int64_t n,
                           float* activations, float* embeddings, const SummaryRequest* summaries,
                           const ViterbiRequest* viterbi) {
  if (n < 0 || num_samples < 0) return InvalidArgumentError("negative frame or sample count");
  if (n == 0) return Infer(nullptr, 0, activations, embeddings, summaries, viterbi);
  if (samples == nullptr || starts == nullptr) return InvalidArgumentError("null sample or start buffer");
  CREPE_RETURN_IF_ERROR(CheckOutputs(n, activations, summaries, viterbi));
  for (int64_t i = 0; i < n; ++i) {
    if (starts[i] < 0 || starts[i] > num_samples - kFrameLength) {
      return InvalidArgumentError("window " + std::to_string(i) + " starts at " + std::to_string(starts[i]) +
                                  ", outside the " + std::to_string(num_samples) + " samples given");
    }
  }
  Impl& m = *impl_;
  return m.Locked("running the network", [&]() -> Status {
    const bool pinned = m.device.is_cuda();
    const auto host = torch::TensorOptions().pinned_memory(pinned);
    torch::Tensor samples_host = torch::empty({num_samples}, host.dtype(torch::kFloat32));
    torch::Tensor starts_host = torch::empty({n}, host.dtype(torch::kInt64));
    std::memcpy(samples_host.data_ptr<float>(), samples, sizeof(float) * static_cast<size_t>(num_samples));
    std::memcpy(starts_host.data_ptr<int64_t>(), starts, sizeof(int64_t) * static_cast<size_t>(n));
    const torch::Tensor samples_dev = samples_host.to(m.device, /*non_blocking=*/true);
    const torch::Tensor starts_dev = starts_host.to(m.device, /*non_blocking=*/true);
    const int64_t pass = m.info.micro_batch;
    for (int64_t first = 0; first < n; first += pass) {
      const int64_t count = std::min(pass, n - first);
      auto [act, emb] = m.RunPass(CutFrames(samples_dev, starts_dev.narrow(0, first, count)), embeddings != nullptr);
      if (viterbi != nullptr) m.KeepForViterbi(act);
      m.CopyOut(act, emb, first, count, activations, embeddings, summaries);
    }
    return viterbi != nullptr ? m.AdvanceViterbi(summaries, *viterbi) : Status::Ok();
  });
}

Status Model::PredictClips(const std::vector<ClipRequest>& clips, std::vector<ClipResult>* results) {
  Impl& m = *impl_;
  return m.Locked("predicting clips", [&]() -> Status {
    ClipPipeline pipeline;
    pipeline.device = m.device;
    pipeline.pass_frames = m.info.micro_batch;
    pipeline.embedding_width = m.info.embedding_width;
    pipeline.pinned = m.device.is_cuda();
    pipeline.run_pass = [&m](const torch::Tensor& frames, bool want_embedding) {
      return m.RunPass(frames, want_embedding);
    };
    pipeline.synchronize = [&m] { m.Synchronize(); };
    return RunClips(pipeline, clips, results);
  });
}

Result<double> Model::TimeResidentPasses(int64_t passes) {
  if (passes < 1) return InvalidArgumentError("at least one pass");
  double seconds = 0;
  Impl& m = *impl_;
  Status s = m.Locked("timing passes", [&]() -> Status {
    torch::manual_seed(1);
    // Random frames, not zeros: zeros can run faster than real data and hide unwritten outputs.
    const torch::Tensor frames = torch::randn({m.info.micro_batch, kFrameLength},
                                              torch::TensorOptions().dtype(torch::kFloat32).device(m.device));
    for (int i = 0; i < 3; ++i) m.RunPass(frames, false);
    m.Synchronize();
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < passes; ++i) m.RunPass(frames, false);
    m.Synchronize();
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return seconds;
}

const ModelInfo& Model::info() const { return impl_->info; }

DeviceMemory DeviceMemoryInUse(const std::string& device) {
  DeviceMemory m;
  try {
    const torch::Device d(device);
    if (d.is_cuda()) std::tie(m.allocated_bytes, m.reserved_bytes) = CudaMemoryStats(d.has_index() ? d.index() : 0);
  } catch (...) {
  }
  return m;
}

Status CheckDeviceViterbi(const std::string& device) {
  return Guarded("checking the device's Viterbi", [&]() -> Status {
    CREPE_ASSIGN_OR_RETURN(const torch::Device d, ParseDevice(device));
    c10::InferenceMode inference_mode;
    return CheckViterbiStreams(d);
  });
}

bool ViterbiKernelsBuilt() {
#ifdef CREPE_HAVE_VITERBI_KERNELS
  return true;
#else
  return false;
#endif
}

bool CudaAvailable() {
  try {
    return torch::cuda::is_available();
  } catch (...) {
    return false;
  }
}

}  // namespace crepe
