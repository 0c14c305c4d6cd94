#include <cmath>
#include <random>
#include <string>

#include "crepe/weights.h"

namespace crepe {
namespace {

WeightTensor Normal(std::vector<int64_t> shape, double mean, double stddev, std::mt19937_64& rng) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::normal_distribution<double> dist(mean, stddev);
  WeightTensor t;
  t.shape = std::move(shape);
  t.data.resize(static_cast<size_t>(count));
  for (float& v : t.data) v = static_cast<float>(dist(rng));
  return t;
}

WeightTensor Uniform(int64_t count, double lo, double hi, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> dist(lo, hi);
  WeightTensor t;
  t.shape = {count};
  t.data.resize(static_cast<size_t>(count));
  for (float& v : t.data) v = static_cast<float>(dist(rng));
  return t;
}

}  // namespace

CrepeWeights MakeSyntheticWeights(Capacity capacity, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Architecture arch = ArchitectureOf(capacity);
  CrepeWeights w;
  w.capacity = capacity;
  int in_channels = 1;
  for (int l = 0; l < kNumConvLayers; ++l) {
    const int k = arch.kernel[l], c = arch.filters[l];
    ConvBlockWeights& b = w.conv[l];
    b.kernel = Normal({k, in_channels, c}, 0.0, std::sqrt(2.0 / (k * in_channels)), rng);
    b.bias = Normal({c}, 0.0, 0.05, rng);
    b.gamma = Uniform(c, 0.5, 1.5, rng);
    b.beta = Normal({c}, 0.0, 0.1, rng);
    b.moving_mean = Uniform(c, 0.0, 1.0, rng);  // after ReLU: non-negative
    b.moving_variance = Uniform(c, 0.5, 2.0, rng);
    in_channels = c;
  }
  w.dense_kernel = Normal({arch.dense_inputs, kPitchBins}, 0.0, std::sqrt(1.0 / arch.dense_inputs), rng);
  w.dense_bias = Normal({kPitchBins}, -3.0, 0.5, rng);  // mostly inactive bins, as trained nets are
  w.path = "synthetic:" + std::string(CapacityName(capacity)) + ":seed=" + std::to_string(seed);
  w.sha256 = "synthetic";
  return w;
}

}  // namespace crepe
