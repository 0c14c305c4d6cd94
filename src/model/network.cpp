#include "model/network.h"

namespace crepe {
namespace {

namespace F = torch::nn::functional;

constexpr double kBatchNormEpsilon = 1e-3;  // Keras 2.1.5's default

torch::Tensor ToTensor(const WeightTensor& w, const torch::Device& device, torch::ScalarType dtype) {
  // from_blob does not copy; clone() gives the tensor its own storage before the weights go away.
  return torch::from_blob(const_cast<float*>(w.data.data()), w.shape, torch::kFloat32).clone().to(device, dtype);
}

torch::ScalarType DtypeOf(Precision p) {
  switch (p) {
    case Precision::kBf16:
      return torch::kBFloat16;
    case Precision::kFp16:
      return torch::kHalf;
    default:
      return torch::kFloat32;
  }
}

// A convolution with its own TF32 switch and a deterministic algorithm, instead of the
// process-wide settings F::conv1d / F::conv2d consult (at::_convolution is what they call).
torch::Tensor Convolve(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias, int stride,
                       bool two_d, bool allow_tf32) {
  const std::vector<int64_t> strides = two_d ? std::vector<int64_t>{1, stride} : std::vector<int64_t>{stride};
  const std::vector<int64_t> zeros(strides.size(), 0), ones(strides.size(), 1);
  return at::_convolution(x, w, bias, strides, zeros, ones, /*transposed=*/false, zeros, /*groups=*/1,
                          /*benchmark=*/false, /*deterministic=*/true, /*cudnn_enabled=*/true, allow_tf32);
}

// Keras padding='same' for input length `length`: the extra zero, if any, goes on the right.
std::pair<int, int> SamePadding(int length, int kernel, int stride) {
  const int out = (length + stride - 1) / stride;
  const int total = std::max((out - 1) * stride + kernel - length, 0);
  return {total / 2, total - total / 2};
}

}  // namespace

ConvLayout Network::ResolveLayout(ConvLayout layout, const torch::Device& device, Precision precision) {
  if (layout != ConvLayout::kAuto) return layout;
  if (device.is_cpu()) return ConvLayout::kChannelsLast;  // conv2..conv5 only, see below
  return (precision == Precision::kBf16 || precision == Precision::kFp16) ? ConvLayout::kChannelsLast
                                                                          : ConvLayout::kChannelsFirst;
}

Network::Network(const CrepeWeights& weights, const torch::Device& device, Precision precision, ConvLayout layout)
    : dtype_(DtypeOf(precision)), allow_tf32_(precision == Precision::kTf32) {
  const torch::ScalarType dtype = dtype_;
  const Architecture arch = ArchitectureOf(weights.capacity);
  int length = kFrameLength;
  for (int l = 0; l < kNumConvLayers; ++l) {
    const ConvBlockWeights& w = weights.conv[l];
    Block& b = blocks_[l];
    // Keras kernel (k, Cin, Cout) -> torch (Cout, Cin, k); cross-correlation in both, no flip.
    b.weight = ToTensor(w.kernel, device, dtype).permute({2, 1, 0}).contiguous();
    b.bias = ToTensor(w.bias, device, dtype);
    // BatchNorm's parameters stay in float32 at every precision (batch_norm computes in float32
    // and rounds its output once, as cuDNN's BN requires for half data). conv2's moving variance
    // passes float16's 65504 in 10 (medium), 34 (large) and 64 (full) channels: stored in fp16 it
    // became inf, those channels lost their signal, and 42-73 % of argmax bins differed from fp32.
    b.gamma = ToTensor(w.gamma, device, torch::kFloat32);
    b.beta = ToTensor(w.beta, device, torch::kFloat32);
    b.mean = ToTensor(w.moving_mean, device, torch::kFloat32);
    b.variance = ToTensor(w.moving_variance, device, torch::kFloat32);
    b.stride = arch.stride[l];
    std::tie(b.pad_left, b.pad_right) = SamePadding(length, arch.kernel[l], arch.stride[l]);
    // oneDNN runs the width-64 convolutions of conv2..conv5 with its AVX-512 kernels only in
    // channels-last 2-D form (1.2-1.6x faster on CPU); conv1 (one input channel) and conv6
    // (length 8) are faster as they are. On CUDA the layout applies to every block. Either way
    // each frame's result is independent of the others in its pass.
    const ConvLayout resolved = ResolveLayout(layout, device, precision);
    b.channels_last = resolved == ConvLayout::kChannelsLast && (!device.is_cpu() || (l >= 1 && l <= 4));
    if (b.channels_last) b.weight = b.weight.unsqueeze(2).contiguous(torch::MemoryFormat::ChannelsLast);
    // ReLU and BN with a non-negative scale are non-decreasing, element by element and after
    // rounding, so they commute exactly with max-pooling; pooling first halves their work.
    b.pool_first = (b.gamma >= 0).all().item<bool>();
    length = (length + b.stride - 1) / b.stride / 2;  // conv 'same', then max-pool by 2
  }
  dense_weight_ = ToTensor(weights.dense_kernel, device, dtype);  // (4 C6, 360): used as is by addmm
  dense_bias_ = ToTensor(weights.dense_bias, device, dtype);
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
    h = Convolve(h.unsqueeze(2).contiguous(torch::MemoryFormat::ChannelsLast), b.weight, b.bias, b.stride,
                 /*two_d=*/true, allow_tf32_);
    h = b.pool_first ? activate(F::max_pool2d(h, F::MaxPool2dFuncOptions({1, 2}).stride({1, 2})))
                     : F::max_pool2d(activate(h), F::MaxPool2dFuncOptions({1, 2}).stride({1, 2}));
    return h.squeeze(2).contiguous();
  }
  h = Convolve(h, b.weight, b.bias, b.stride, /*two_d=*/false, allow_tf32_);
  return b.pool_first ? activate(F::max_pool1d(h, F::MaxPool1dFuncOptions(2).stride(2)))
                      : F::max_pool1d(activate(h), F::MaxPool1dFuncOptions(2).stride(2));
}

std::pair<torch::Tensor, std::optional<torch::Tensor>> Network::Forward(const torch::Tensor& x,
                                                                        bool want_embedding) const {
  const int64_t batch = x.size(0);
  torch::Tensor h = x.reshape({batch, 1, kFrameLength}).to(dtype_);
  std::optional<torch::Tensor> embedding;
  for (int l = 0; l < kNumConvLayers; ++l) {
    h = RunBlock(blocks_[l], h);
    if (l == 4 && want_embedding) {
      // torchcrepe reshapes the raw (B, C5, 8) memory to (B, 32, C5 / 4).
      embedding = h.contiguous().reshape({batch, kEmbeddingRows, -1}).to(torch::kFloat32);
    }
  }
  // Keras flattens channels-last: index = time * C6 + channel.
  h = h.transpose(1, 2).reshape({batch, -1});
  // The dense layer runs in float32 under kTf32: cuBLAS's TF32 switch is process-wide, and it is
  // left off.
  h = torch::sigmoid(torch::addmm(dense_bias_, h, dense_weight_)).to(torch::kFloat32);
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
