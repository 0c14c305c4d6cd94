// The CREPE network as LibTorch operations (internal; torch types never leave src/model).
#pragma once

#include <torch/torch.h>

#include <array>
#include <optional>

#include "crepe/model.h"
#include "crepe/weights.h"

namespace crepe {

class Network {
 public:
  // Copies the weights onto `device` in the dtype of `precision` and the layout `layout`
  // (resolved: not kAuto) expects.
  Network(const CrepeWeights& weights, const torch::Device& device, Precision precision, ConvLayout layout);

  // x: (B, 1024) float32 on the network's device. Returns float32 activations (B, 360) and, if
  // asked, the output of block 5 reshaped as torchcrepe's embed does, (B, 32, C5 / 4).
  std::pair<torch::Tensor, std::optional<torch::Tensor>> Forward(const torch::Tensor& x, bool want_embedding) const;

  // Bytes of the weights held on the device.
  int64_t ResidentBytes() const;

  // The layout kAuto stands for on `device` at `precision`.
  static ConvLayout ResolveLayout(ConvLayout layout, const torch::Device& device, Precision precision);

 private:
  struct Block {
    torch::Tensor weight, bias;                 // (Cout, Cin, k) or, channels-last, (Cout, Cin, 1, k)
    torch::Tensor gamma, beta, mean, variance;  // (Cout)
    int stride = 1;
    int pad_left = 0, pad_right = 0;
    bool channels_last = false;  // run as a 2-D convolution over (B, C, 1, L) in channels-last memory
    bool pool_first = false;     // max-pool before ReLU and BN: exact when every BN scale is >= 0
  };
  torch::Tensor RunBlock(const Block& b, torch::Tensor h) const;
  std::array<Block, kNumConvLayers> blocks_;
  torch::Tensor dense_weight_, dense_bias_;  // (4 C6, 360), (360)
  torch::ScalarType dtype_ = torch::kFloat32;
  bool allow_tf32_ = false;
};

}  // namespace crepe
