// Where tests find shared reference data, fetched weights and built programs.
#pragma once

#include <ostream>
#include <string>

#include "crepe/capacity.h"

namespace crepe {
// How gtest prints a capacity parameter in test descriptions.
inline void PrintTo(Capacity c, std::ostream* os) { *os << CapacityName(c); }
}  // namespace crepe

namespace crepe::test {

std::string SharedPath(const std::string& relative);  // ../shared/<relative>
std::string SourcePath(const std::string& relative);  // <repo>/<relative>
std::string BinaryPath(const std::string& relative);  // <build>/<relative>
// models/<capacity>.h5 as installed by tools/fetch_weights.py; CREPE_MODELS_DIR overrides.
std::string WeightsPath(Capacity capacity);
bool FileExists(const std::string& path);
// A fresh, empty temporary directory, removed by the OS's tmp cleaning (tests delete their own).
std::string MakeTempDir(const std::string& tag);

}  // namespace crepe::test
