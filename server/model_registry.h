// The models a server holds: each capacity loaded onto the device, warmed up, with its own
// dynamic batcher; and its state for ListModels and the health status.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/model.h"
#include "frame_batcher.h"
#include "network_runner.h"
#include "server_options.h"

namespace crepe::server {

enum class ModelState { kLoading, kReady, kFailed };

struct ModelView {
  Capacity capacity;
  ModelState state;
  std::string error;
  ModelInfo info;  // valid when ready
  BatcherStats stats;
  int64_t max_batch = 0;
};

class ModelRegistry {
 public:
  explicit ModelRegistry(const ServerOptions& options);
  ~ModelRegistry();

  // Loads and warms up every configured model (blocking). OK only if all of them are ready.
  // `stop` is checked between models: once set, the rest are not loaded (CANCELLED).
  Status LoadAll(const std::atomic<bool>& stop);
  // The ready model and its batcher, or UNAVAILABLE / NOT_FOUND with a message saying why.
  Result<std::pair<Model*, FrameBatcher*>> Get(Capacity capacity) const;
  std::vector<ModelView> Views() const;
  void StopBatchers();

 private:
  struct Slot {
    std::atomic<ModelState> state{ModelState::kLoading};
    std::string error;
    std::unique_ptr<Model> model;
    std::unique_ptr<NetworkRunner> runner;
    std::unique_ptr<FrameBatcher> batcher;
  };
  Status LoadOne(Capacity capacity, Slot& slot);
  ModelOptions ModelOptionsFor(Capacity capacity) const;

  ServerOptions options_;
  std::string device_;
  std::map<Capacity, std::unique_ptr<Slot>> slots_;
  mutable std::mutex mutex_;  // guards error strings
};

}  // namespace crepe::server
