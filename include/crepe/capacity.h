// The five CREPE model capacities and their architecture constants.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "crepe/status.h"

namespace crepe {

enum class Capacity { kTiny, kSmall, kMedium, kLarge, kFull };

inline constexpr std::array<Capacity, 5> kAllCapacities = {Capacity::kTiny, Capacity::kSmall, Capacity::kMedium,
                                                           Capacity::kLarge, Capacity::kFull};

inline constexpr int kNumConvLayers = 6;
inline constexpr int kFrameLength = 1024;  // samples at 16 kHz per analysis window
inline constexpr int kSampleRate = 16000;  // the network's sample rate
inline constexpr int kPitchBins = 360;     // 20-cent bins from 31.7 Hz
inline constexpr int kEmbeddingRows = 32;  // torchcrepe's embedding reshape (frames, 32, C5/4)

std::string_view CapacityName(Capacity c);
Result<Capacity> ParseCapacity(std::string_view name);  // "tiny" .. "full"
int CapacityMultiplier(Capacity c);                     // 4, 8, 16, 24, 32

// Architecture of one capacity: filters, kernel widths and strides of the six conv blocks.
struct Architecture {
  std::array<int, kNumConvLayers> filters;
  std::array<int, kNumConvLayers> kernel;
  std::array<int, kNumConvLayers> stride;
  int dense_inputs;     // 4 * filters[5]
  int embedding_width;  // filters[4] * 8 / 32 = filters[4] / 4
};
Architecture ArchitectureOf(Capacity c);

}  // namespace crepe
