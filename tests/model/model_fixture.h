// Loading models once per test binary (the full model takes a few seconds to read).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "crepe/model.h"
#include "support/test_paths.h"

namespace crepe::test {

// The model of `capacity` from models/<capacity>.h5 on the CPU, or nullptr after failing the test.
inline Model* CpuModel(Capacity capacity) {
  static std::map<Capacity, std::unique_ptr<Model>> cache;
  auto& slot = cache[capacity];
  if (!slot) {
    auto m = Model::Load(WeightsPath(capacity), capacity);
    if (!m.ok()) {
      ADD_FAILURE() << m.status().ToString() << " (run tools/fetch_weights.py)";
      return nullptr;
    }
    slot = std::move(m).value();
  }
  return slot.get();
}

}  // namespace crepe::test
