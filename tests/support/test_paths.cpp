#include "support/test_paths.h"

#include <cstdlib>
#include <filesystem>
#include <random>

namespace crepe::test {

std::string SharedPath(const std::string& relative) {
  const char* env = std::getenv("CREPE_SHARED_DIR");
  return std::string(env ? env : CREPE_SHARED_DIR) + "/" + relative;
}

// CREPE_SOURCE_DIR in the environment: the test binaries run from a copy of the tree elsewhere
// (bench/gpu/run.sh on a GPU machine).
std::string SourcePath(const std::string& relative) {
  const char* env = std::getenv("CREPE_SOURCE_DIR");
  return std::string(env ? env : CREPE_SOURCE_DIR) + "/" + relative;
}

std::string BinaryPath(const std::string& relative) { return std::string(CREPE_BINARY_DIR) + "/" + relative; }

std::string WeightsPath(Capacity capacity) {
  const char* env = std::getenv("CREPE_MODELS_DIR");
  return std::string(env ? env : CREPE_MODELS_DIR) + "/" + std::string(CapacityName(capacity)) + ".h5";
}

bool FileExists(const std::string& path) { return std::filesystem::is_regular_file(path); }

std::string MakeTempDir(const std::string& tag) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / ("crepe-test-" + tag + "-" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace crepe::test
