// The official weight files, known by checksum (assets/models.json, turned into official_weights.inc
// by src/CMakeLists.txt).
#include <string_view>

#include "crepe/weights.h"

namespace crepe {
namespace {

struct OfficialFile {
  std::string_view capacity;
  std::string_view sha256;
};

constexpr OfficialFile kOfficialFiles[] = {
#include "official_weights.inc"
};

}  // namespace

std::optional<Capacity> OfficialWeightsCapacity(std::string_view sha256) {
  for (const OfficialFile& f : kOfficialFiles) {
    if (f.sha256 == sha256)
      return ParseCapacity(f.capacity).ok() ? std::optional(*ParseCapacity(f.capacity)) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace crepe
