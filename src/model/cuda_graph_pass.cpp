#include "model/cuda_graph_pass.h"

#ifdef CREPE_HAVE_CUDA_TOOLKIT
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace crepe {

#ifdef CREPE_HAVE_CUDA_TOOLKIT
namespace {

class CudaGraphPass final : public GraphPass {
 public:
  CudaGraphPass(const Network& network, const torch::Tensor& input) {
    // Warm-up outside the capture: cuDNN handles, algorithm choice and the allocator's first
    // blocks must not happen inside it.
    for (int i = 0; i < 2; ++i) network.Forward(input, true);
    // Thread-local capture: other models' threads keep launching on their own streams meanwhile.
    graph_.capture_begin(at::cuda::graph_pool_handle(), cudaStreamCaptureModeThreadLocal);
    try {
      auto [activations, embeddings] = network.Forward(input, true);
      activations_ = activations;
      embeddings_ = *embeddings;
    } catch (...) {
      // End the capture, or the stream stays in capture mode for whatever runs on it next.
      try {
        graph_.capture_end();
      } catch (...) {
      }
      throw;
    }
    graph_.capture_end();
  }
  void Replay() override { graph_.replay(); }
  const torch::Tensor& activations() const override { return activations_; }
  const torch::Tensor& embeddings() const override { return embeddings_; }

 private:
  at::cuda::CUDAGraph graph_;
  torch::Tensor activations_, embeddings_;
};

}  // namespace

std::unique_ptr<GraphPass> GraphPass::Capture(const Network& network, const torch::Tensor& input) {
  try {
    return std::make_unique<CudaGraphPass>(network, input);
  } catch (const std::exception&) {
    // The model still works, launching its kernels one by one (ModelInfo::cuda_graphs says so).
    return nullptr;
  }
}

bool CudaGraphsBuilt() { return true; }

std::pair<int64_t, int64_t> CudaMemoryStats(int index) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  const auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  return {stats.allocated_bytes[all].current, stats.reserved_bytes[all].current};
}

#else

std::unique_ptr<GraphPass> GraphPass::Capture(const Network&, const torch::Tensor&) { return nullptr; }
bool CudaGraphsBuilt() { return false; }
std::pair<int64_t, int64_t> CudaMemoryStats(int) { return {0, 0}; }

#endif

}  // namespace crepe
