// The service's Prometheus metrics (docs/service.md, "Metrics", lists them with their meaning).
// Calls are counted here as they end; everything else (models, batchers, gauges, the process) is
// read at scrape time from where it already lives, so serving pays for one locked map update
// per call and nothing per frame.
//
// Threads: ObserveCall from any thread (a call's reactor, once, as the call ends); Render from the
// metrics endpoint's threads. One mutex guards the call figures; Render copies them under it and
// formats outside it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "call_log.h"
#include "histogram.h"
#include "model_registry.h"
#include "process_stats.h"

namespace crepe::server {

class ServiceMetrics {
 public:
  // A call that ended: its method, model ("none" when it never got that far), status code,
  // frames, audio and durations.
  void ObserveCall(const CallRecord& record, double total_seconds);

  struct Gauges {
    int64_t calls_in_flight = 0;
    int64_t streams_open = 0;
  };
  // The text exposition of every metric as of now.
  std::string Render(const std::vector<ModelView>& models, const Gauges& gauges, const ProcessStats& process) const;

 private:
  using CallKey = std::tuple<std::string, std::string, std::string>;  // method, model, code
  using RouteKey = std::pair<std::string, std::string>;               // method, model
  struct RouteFigures {
    Histogram request_seconds{DurationBounds()};
    Histogram queue_seconds{DurationBounds()};
    Histogram compute_seconds{DurationBounds()};
    int64_t frames = 0;
    double audio_seconds = 0;
  };
  mutable std::mutex mutex_;
  std::map<CallKey, int64_t> requests_;
  std::map<RouteKey, RouteFigures> routes_;
};

}  // namespace crepe::server
