#include "histogram.h"

#include <algorithm>
#include <utility>

namespace crepe::server {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}

void Histogram::Observe(double value) {
  // A value equal to a bound belongs to that bound's bucket (le = "less than or equal").
  const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  counts[static_cast<size_t>(bucket)] += 1;
  sum += value;
  count += 1;
}

std::vector<double> ExponentialBounds(double start, double factor, int n) {
  std::vector<double> out;
  for (double b = start; static_cast<int>(out.size()) < n; b *= factor) out.push_back(b);
  return out;
}

}  // namespace crepe::server
