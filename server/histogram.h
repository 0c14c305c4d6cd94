// Counts of observations by upper bound: the state of a Prometheus histogram. A plain value (no
// locking): its owner guards it (the batcher's mutex, ServiceMetrics' mutex) and copies it out.
#pragma once

#include <cstdint>
#include <vector>

namespace crepe::server {

struct Histogram {
  Histogram() = default;
  explicit Histogram(std::vector<double> upper_bounds);  // ascending; +Inf is implied

  void Observe(double value);

  std::vector<double> bounds;
  std::vector<int64_t> counts;  // per bucket (not cumulative); one more than bounds: above them all
  double sum = 0;
  int64_t count = 0;
};

// start, start * factor, ... (n bounds).
std::vector<double> ExponentialBounds(double start, double factor, int n);

}  // namespace crepe::server
