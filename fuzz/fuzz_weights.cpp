// libFuzzer target: arbitrary bytes as a Keras weights file, read by the same code as
// crepe-predict --weights and the server's model loading (HDF5 from an in-memory image).
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crepe/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The parser itself is under test: every file reaches it (crepe's default lets only the official
  // files through, weights.h says why).
  const auto any = crepe::WeightsTrust::kAnyFile;
  auto capacity = crepe::DetectKerasCapacity(bytes, "fuzz.h5", any);
  (void)crepe::DecodeKerasWeights(bytes, capacity.ok() ? *capacity : crepe::Capacity::kTiny, "fuzz.h5", any);
  // Every HDF5 object the loader opened is closed again, whatever the file held.
  if (H5Fget_obj_count(static_cast<hid_t>(H5F_OBJ_ALL), H5F_OBJ_ALL) != 0) __builtin_trap();
  return 0;
}
