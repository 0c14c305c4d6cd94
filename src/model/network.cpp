#include "model/network.h"

namespace crepe {
namespace {

namespace F = torch::nn::functional;

constexpr double kBatchNormEpsilon = 1e-3;  // Keras 2.1.5's default

torch::Tensor ToTensor(const WeightTensor& w, const torch::Device& device) {
  // from_blob does not copy; clone() gives the tensor its own storage before the weights go away.
  return torch::from_blob(const_cast<float*>(w.data.data()), w.shape, torch::kFloat32).clone().to(device);
}

// Keras padding='same' for input length `length`: the extra zero, if any, goes on the right.
std::pair<int, int> SamePadding(int length, int kernel, int stride) {
  const int out = (length + stride - 1) / stride;
  const int total = std::max((out - 1) * stride + kernel - length, 0);
  return {total / 2, total - total / 2};
}

}  // namespace

Network::Network(const CrepeWeights& weights, const torch::Device& device) {
  const Architecture arch = ArchitectureOf(weights.capacity);
  int length = kFrameLength;
  for (int l = 0; l < kNumConvLayers; ++l) {
    const ConvBlockWeights& w = weights.conv[l];
    Block& b = blocks_[l];
    // Keras kernel (k, Cin, Cout) -> torch (Cout, Cin, k); cross-correlation in both, no flip.
    b.weight = ToTensor(w.kernel, device).permute({2, 1, 0}).contiguous();
    b.bias = ToTensor(w.bias, device);
    b.gamma = ToTensor(w.gamma, device);
    b.beta = ToTensor(w.beta, device);
    b.mean = ToTensor(w.moving_mean, device);
    b.variance = ToTensor(w.moving_variance, device);
    b.stride = arch.stride[l];
    std::tie(b.pad_left, b.pad_right) = SamePadding(length, arch.kernel[l], arch.stride[l]);
    // oneDNN runs the width-64 convolutions of conv2..conv5 with its AVX-512 kernels only in
    // channels-last 2-D form (1.2-1.6x faster on CPU); conv1 (one input channel) and conv6
    // (length 8) are faster as they are. Either way each frame's result is independent of the
    // others in its pass.
    b.channels_last = device.is_cpu() && l >= 1 && l <= 4;
    if (b.channels_last) b.weight = b.weight.unsqueeze(2).contiguous(torch::MemoryFormat::ChannelsLast);
    // ReLU and BN with a non-negative scale are non-decreasing, element by element and after
    // rounding, so they commute exactly with max-pooling; pooling first halves their work.
    b.pool_first = (b.gamma >= 0).all().item<bool>();
    length = (length + b.stride - 1) / b.stride / 2;  // conv 'same', then max-pool by 2
  }
  dense_weight_ = ToTensor(weights.dense_kernel, device);  // (4 C6, 360): used as is by addmm
  dense_bias_ = ToTensor(weights.dense_bias, device);
}

torch::Tensor Network::RunBlock(const Block& b, torch::Tensor h) const {
  // Keras order inside a block: conv (with bias) -> ReLU -> BatchNorm -> max-pool. Padding is
  // explicit zeros; BN must not be folded into the conv because of that padding.
  auto activate = [&b](const torch::Tensor& x) {
    return torch::batch_norm(torch::relu(x), b.gamma, b.beta, b.mean, b.variance, /*training=*/false,
                             /*momentum=*/0.0, kBatchNormEpsilon, /*cudnn_enabled=*/true);
  };
  h = F::pad(h, F::PadFuncOptions({b.pad_left, b.pad_right}));
  if (b.channels_last) {
    h = F::conv2d(h.unsqueeze(2).contiguous(torch::MemoryFormat::ChannelsLast), b.weight,
                  F::Conv2dFuncOptions().bias(b.bias).stride({1, b.stride}));
    h = b.pool_first ? activate(F::max_pool2d(h, F::MaxPool2dFuncOptions({1, 2}).stride({1, 2})))
                     : F::max_pool2d(activate(h), F::MaxPool2dFuncOptions({1, 2}).stride({1, 2}));
    return h.squeeze(2).contiguous();
  }
  h = F::conv1d(h, b.weight, F::Conv1dFuncOptions().bias(b.bias).stride(b.stride));
  return b.pool_first ? activate(F::max_pool1d(h, F::MaxPool1dFuncOptions(2).stride(2)))
                      : F::max_pool1d(activate(h), F::MaxPool1dFuncOptions(2).stride(2));
}

std::pair<torch::Tensor, std::optional<torch::Tensor>> Network::Forward(const torch::Tensor& x,
                                                                        bool want_embedding) const {
  const int64_t batch = x.size(0);
  torch::Tensor h = x.reshape({batch, 1, kFrameLength});
  std::optional<torch::Tensor> embedding;
  for (int l = 0; l < kNumConvLayers; ++l) {
    h = RunBlock(blocks_[l], h);
    if (l == 4 && want_embedding) {
      // torchcrepe reshapes the raw (B, C5, 8) memory to (B, 32, C5 / 4).
      embedding = h.contiguous().reshape({batch, kEmbeddingRows, -1});
    }
  }
  // Keras flattens channels-last: index = time * C6 + channel.
  h = h.transpose(1, 2).reshape({batch, -1});
  h = torch::sigmoid(torch::addmm(dense_bias_, h, dense_weight_));
  return {h, embedding};
}

int64_t Network::ResidentBytes() const {
  int64_t bytes = dense_weight_.nbytes() + dense_bias_.nbytes();
  for (const Block& b : blocks_) {
    for (const torch::Tensor* t : {&b.weight, &b.bias, &b.gamma, &b.beta, &b.mean, &b.variance}) {
      if (t->defined()) bytes += static_cast<int64_t>(t->nbytes());
    }
  }
  return bytes;
}

}  // namespace crepe
