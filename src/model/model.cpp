#include "crepe/model.h"

#include <ATen/Context.h>
#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <regex>

#include "crepe/weights.h"
#include "model/network.h"

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
// short clip's last pass costs little.
constexpr int64_t kCpuMicroBatch = 32;
constexpr int64_t kCudaMicroBatch = 256;

// Parity with the fp32 original needs TF32 off in cuDNN and cuBLAS. The switches are
// process-wide, so the first CUDA model decides and a model asking for the other setting is refused
// rather than silently changing the numerics of the models already loaded.
Status SetProcessTf32(bool allow) {
  static std::mutex mutex;
  static std::optional<bool> chosen;
  std::lock_guard<std::mutex> lock(mutex);
  if (chosen && *chosen != allow) {
    return FailedPreconditionError(std::string("TF32 is already ") + (*chosen ? "enabled" : "disabled") +
                                   " for this process's CUDA models; all of them must use the same setting");
  }
  at::globalContext().setAllowTF32CuDNN(allow);
  at::globalContext().setAllowTF32CuBLAS(allow);
  chosen = allow;
  return Status::Ok();
}

}  // namespace

struct Model::Impl {
  ModelInfo info;
  torch::Device device{torch::kCPU};
  std::unique_ptr<Network> network;
  std::mutex mutex;
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::Load(const std::string& weights_path, Capacity capacity,
                                           const ModelOptions& options) {
  std::unique_ptr<Impl> impl;
  Status status = Guarded("loading the model", [&]() -> Status {
    impl = std::make_unique<Impl>();
    CREPE_ASSIGN_OR_RETURN(impl->device, ParseDevice(options.device));
    CREPE_ASSIGN_OR_RETURN(
        CrepeWeights weights,
        LoadKerasWeights(weights_path, capacity,
                         options.allow_unofficial_weights ? WeightsTrust::kAnyFile : WeightsTrust::kOfficialOnly));
    if (impl->device.is_cuda()) CREPE_RETURN_IF_ERROR(SetProcessTf32(options.allow_tf32));
    impl->network = std::make_unique<Network>(weights, impl->device);
    impl->info.micro_batch = impl->device.is_cuda() ? kCudaMicroBatch : kCpuMicroBatch;
    impl->info.capacity = capacity;
    impl->info.device = impl->device.str();
    impl->info.weights_path = weights_path;
    impl->info.weights_sha256 = weights.sha256;
    impl->info.embedding_width = ArchitectureOf(capacity).embedding_width;
    impl->info.resident_bytes = impl->network->ResidentBytes();
    return Status::Ok();
  });
  if (!status.ok()) return status;
  try {
    return std::unique_ptr<Model>(new Model(std::move(impl)));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory loading the model");
  }
}

Status Model::Infer(const float* frames, int64_t n, float* activations, float* embeddings) {
  if (n < 0) return InvalidArgumentError("negative frame count");
  if (n == 0) return Status::Ok();
  if (frames == nullptr || activations == nullptr) return InvalidArgumentError("null frame or activation buffer");
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return Guarded("running the network", [&]() -> Status {
    c10::InferenceMode inference_mode;
    const int64_t embedding_size = int64_t{kEmbeddingRows} * impl_->info.embedding_width;
    const int64_t micro = impl_->info.micro_batch;
    // Every forward pass has the same shape, the tail padded with silent frames: convolution
    // libraries pick their algorithm (and so their rounding) by shape, and a frame's result must
    // not depend on how many frames came with it (a different batch size, or the server's
    // batcher pooling requests). Within one shape, each frame's result is independent of the
    // others.
    torch::Tensor staging = torch::zeros({micro, kFrameLength}, torch::kFloat32);
    for (int64_t first = 0; first < n; first += micro) {
      const int64_t count = std::min(micro, n - first);
      std::memcpy(staging.data_ptr<float>(), frames + first * kFrameLength, sizeof(float) * count * kFrameLength);
      if (count < micro) staging.narrow(0, count, micro - count).zero_();
      auto [act, emb] = impl_->network->Forward(staging.to(impl_->device), embeddings != nullptr);
      torch::Tensor act_cpu = act.narrow(0, 0, count).to(torch::kCPU).contiguous();
      std::memcpy(activations + first * kPitchBins, act_cpu.data_ptr<float>(), sizeof(float) * count * kPitchBins);
      if (embeddings != nullptr && emb) {
        torch::Tensor emb_cpu = emb->narrow(0, 0, count).to(torch::kCPU).contiguous();
        std::memcpy(embeddings + first * embedding_size, emb_cpu.data_ptr<float>(),
                    sizeof(float) * count * embedding_size);
      }
    }
    return Status::Ok();
  });
}

const ModelInfo& Model::info() const { return impl_->info; }

bool CudaAvailable() {
  try {
    return torch::cuda::is_available();
  } catch (...) {
    return false;
  }
}

}  // namespace crepe
