// libFuzzer target: arbitrary bytes as a .npy file (the reader behind crepe-predict's frame and
// activation inputs and the test fixtures).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crepe/file_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto array = crepe::DecodeNpy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy");
  if (array.ok()) {
    // What was read must be what is re-encoded: the shape accounts for every element.
    size_t count = 1;
    for (int64_t d : array->shape) count *= static_cast<size_t>(d);
    if (count != array->data.size()) __builtin_trap();
  }
  return 0;
}
