// A CREPE network of one capacity, resident on one device. Torch types stay behind this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "crepe/frames.h"
#include "crepe/status.h"
#include "crepe/weights.h"

namespace crepe {

// The arithmetic of the forward pass.
// - kFp32: float32 throughout (the default; parity with the original).
// - kTf32: the convolutions in TF32 on CUDA devices that have it (float32 storage, 10-bit
//   mantissa products); exactly kFp32 on CPU. Chosen per model: the convolutions are called with
//   their own TF32 switch, so no process-wide setting is involved and models may differ.
// - kBf16, kFp16: weights and activations stored and computed in bfloat16 / float16, except
//   BatchNorm's parameters, kept in float32 (some moving variances pass float16's range); outputs
//   are returned as float32.
enum class Precision { kFp32, kTf32, kBf16, kFp16 };
Result<Precision> ParsePrecision(std::string_view name);  // "fp32" | "tf32" | "bf16" | "fp16"
std::string_view PrecisionName(Precision p);

// How the convolutions' tensors are laid out. kAuto: on CPU, channels-last for conv2..conv5
// (oneDNN's fast kernels); on CUDA, channels-last (what cuDNN's tensor-core kernels read) for bf16
// and fp16, channels-first for fp32 and tf32.
enum class ConvLayout { kAuto, kChannelsFirst, kChannelsLast };
Result<ConvLayout> ParseConvLayout(std::string_view name);  // "auto" | "channels_first" | "channels_last"
std::string_view ConvLayoutName(ConvLayout l);

struct ModelOptions {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  Precision precision = Precision::kFp32;
  ConvLayout layout = ConvLayout::kAuto;
  // Frames per forward pass, a multiple of 8; 0 = the device's default (32 on CPU, 1024 on CUDA).
  // Every pass has this shape, so it also bounds the device memory one pass needs.
  int64_t pass_frames = 0;
  // CUDA only: capture each pass of the model as a CUDA graph and replay it (one graph per model;
  // off where this build has no CUDA toolkit headers, see ModelInfo::cuda_graphs).
  bool cuda_graphs = true;
  // Parse weight files other than the official ones (weights.h, WeightsTrust).
  bool allow_unofficial_weights = false;
};

struct ModelInfo {
  Capacity capacity = Capacity::kTiny;
  std::string device;  // resolved, e.g. "cuda:0"
  std::string weights_path;
  std::string weights_sha256;
  int embedding_width = 0;  // C5 / 4: tiny 8, small 16, medium 32, large 48, full 64
  // Frames per forward pass. Every pass has this shape (the tail padded with silence) so that a
  // frame's result never depends on which frames came with it; callers that batch frames (the
  // server's batcher) waste nothing when they hand over multiples of it.
  int64_t micro_batch = 0;
  int64_t resident_bytes = 0;  // the weights as held on the device
  Precision precision = Precision::kFp32;
  ConvLayout layout = ConvLayout::kChannelsFirst;  // resolved
  bool cuda_graphs = false;                        // passes replay a captured CUDA graph
  bool own_stream = false;                         // passes run on the model's own CUDA stream
};

// One clip for Model::PredictClips: 16 kHz audio, where its frames are, and how to decode them.
struct ClipRequest {
  const float* audio16k = nullptr;  // the clip's samples at 16 kHz
  int64_t samples = 0;
  const FrameGrid* grid = nullptr;  // built for `samples`
  Decoder decoder = Decoder::kViterbi;
  BinRange range;
  bool want_activations = false;
  bool want_embeddings = false;
};

struct ClipResult {
  DecodedPitch pitch;              // bins, frequency, confidence, periodicity per frame
  std::vector<float> activations;  // frames x 360, if asked for
  std::vector<float> embeddings;   // frames x 32 x embedding_width, if asked for
};

class Model {
 public:
  // Loads the Keras weights file for `capacity` onto the device.
  static Result<std::unique_ptr<Model>> Load(const std::string& weights_path, Capacity capacity,
                                             const ModelOptions& options = {});
  // The same from weights already in memory (e.g. MakeSyntheticWeights for benchmarks).
  static Result<std::unique_ptr<Model>> Create(const CrepeWeights& weights, const ModelOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // frames: n x 1024 already-normalised samples. activations: n x 360 (output).
  // embeddings: optional n x 32 x embedding_width (output; torchcrepe's layout).
  // `summaries`: also summarise each frame where it ran (activations may then be null).
  // `viterbi`: also advance the Viterbi streams of these frames where they ran (decode.h's
  // ViterbiRequest; needs `summaries`; n may be 0 for parts that only end a stream). The model
  // keeps its streams' state (scores, undecided rows) until their last part or until forgotten.
  // Results for a frame are the same however the frames are split over calls.
  // Thread-safe: concurrent calls are serialised per model.
  Status Infer(const float* frames, int64_t n, float* activations, float* embeddings = nullptr,
               const SummaryRequest* summaries = nullptr, const ViterbiRequest* viterbi = nullptr);

  // Frames given as windows of 16 kHz audio (not normalised): frame i is the 1024 samples of
  // `samples` from starts[i] (0 <= starts[i] <= num_samples - 1024). The samples go to the device
  // once, and the frames are cut and normalised there; outputs as Infer's.
  Status InferWindows(const float* samples, int64_t num_samples, const int64_t* starts, int64_t n, float* activations,
                      float* embeddings = nullptr, const SummaryRequest* summaries = nullptr,
                      const ViterbiRequest* viterbi = nullptr);

  // Whole clips on the device: each clip's audio is uploaded once, its frames are cut and
  // normalised there, run through the network, and decoded there (argmax, weighted argmax, or
  // Viterbi batched across the clips that use the same bin range and decoder); only the decoded
  // pitch, and activations or embeddings where asked for, come back. The same code runs on CPU.
  // Given the same activations, the decoders' results equal DecodeActivations' (Viterbi paths
  // exactly, ties included); the frames equal the host's cutting up to the order of the
  // normalisation's float64 sums (a one-ulp difference in rare frames). Thread-safe like Infer.
  Status PredictClips(const std::vector<ClipRequest>& clips, std::vector<ClipResult>* results);

  // Benchmarks only: `passes` forward passes over frames already on the device (random,
  // normalised), after a warm-up; the wall time from the first pass's launch to the last one's
  // end (the device synchronised). Thread-safe like Infer.
  Result<double> TimeResidentPasses(int64_t passes);

  const ModelInfo& info() const;

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether a CUDA device is usable in this process.
bool CudaAvailable();

// Whether `device` decides Viterbi paths (Model::Infer's ViterbiRequest) exactly as the CPU
// decoder does, on a synthetic batch: OK, or INTERNAL naming the first difference. A caller that
// leaves its Viterbi to the device checks once first.
Status CheckDeviceViterbi(const std::string& device);
// Whether this build has the fused CUDA kernels for Viterbi (else a GPU runs it as tensor
// operations, several per frame).
bool ViterbiKernelsBuilt();

// Device memory in use by this process's tensors on `device` (LibTorch's caching allocator:
// allocated and reserved bytes); zeros on CPU.
struct DeviceMemory {
  int64_t allocated_bytes = 0;
  int64_t reserved_bytes = 0;
};
DeviceMemory DeviceMemoryInUse(const std::string& device);

}  // namespace crepe
