#include "crepe/capacity.h"

namespace crepe {

std::string_view CapacityName(Capacity c) {
  switch (c) {
    case Capacity::kTiny:
      return "tiny";
    case Capacity::kSmall:
      return "small";
    case Capacity::kMedium:
      return "medium";
    case Capacity::kLarge:
      return "large";
    case Capacity::kFull:
      return "full";
  }
  return "unknown";
}

Result<Capacity> ParseCapacity(std::string_view name) {
  for (Capacity c : kAllCapacities) {
    if (CapacityName(c) == name) return c;
  }
  return InvalidArgumentError("unknown model capacity '" + std::string(name) +
                              "' (expected one of tiny, small, medium, large, full)");
}

int CapacityMultiplier(Capacity c) {
  switch (c) {
    case Capacity::kTiny:
      return 4;
    case Capacity::kSmall:
      return 8;
    case Capacity::kMedium:
      return 16;
    case Capacity::kLarge:
      return 24;
    case Capacity::kFull:
      return 32;
  }
  return 0;
}

Architecture ArchitectureOf(Capacity c) {
  const int m = CapacityMultiplier(c);
  constexpr std::array<int, kNumConvLayers> kBase = {32, 4, 4, 4, 8, 16};
  Architecture a{};
  for (int l = 0; l < kNumConvLayers; ++l) {
    a.filters[l] = kBase[l] * m;
    a.kernel[l] = l == 0 ? 512 : 64;
    a.stride[l] = l == 0 ? 4 : 1;
  }
  a.dense_inputs = 4 * a.filters[5];
  a.embedding_width = a.filters[4] * 8 / kEmbeddingRows;
  return a;
}

}  // namespace crepe
