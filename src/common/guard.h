// Keeps std::bad_alloc inside the core: functions whose memory grows with their input run their
// body through this and report RESOURCE_EXHAUSTED instead of throwing.
#pragma once

#include <new>
#include <string>

#include "crepe/status.h"

namespace crepe::internal {

template <typename F>
auto WithoutAllocationExceptions(const char* what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError(std::string("out of memory in ") + what);
  }
}

}  // namespace crepe::internal
