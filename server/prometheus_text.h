// Prometheus' text exposition format (version 0.0.4): metric families, each announced once with
// its HELP and TYPE, then its samples. Label values are escaped as the format requires; names are
// the caller's (constants that already follow the naming conventions).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "histogram.h"

namespace crepe::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  // Starts a family: type is "counter", "gauge" or "histogram".
  void Family(const std::string& name, const std::string& type, const std::string& help);
  void Sample(const std::string& name, const Labels& labels, double value);
  // name_bucket{...,le="..."} (cumulative), name_sum, name_count.
  void HistogramSamples(const std::string& name, const Labels& labels, const Histogram& histogram);

  const std::string& text() const { return out_; }

 private:
  void Line(const std::string& name, const Labels& labels, double value);
  std::string out_;
};

// "1", "0.25", "1e+06", "+Inf", "NaN": Go's ParseFloat reads all of them.
std::string FormatPrometheusValue(double value);
// Backslash, double quote and newline escaped.
std::string EscapeLabelValue(const std::string& value);

}  // namespace crepe::server
