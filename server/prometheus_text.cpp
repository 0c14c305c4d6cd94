#include "prometheus_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace crepe::server {

std::string FormatPrometheusValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  // %.17g writes 0.1 as 0.10000000000000001; the shortest form that reads back the same is kinder.
  for (int digits = 1; digits < 17; ++digits) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", digits, value);
    if (std::strtod(shorter, nullptr) == value) return shorter;
  }
  return buffer;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void PrometheusText::Family(const std::string& name, const std::string& type, const std::string& help) {
  out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void PrometheusText::Line(const std::string& name, const Labels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
    }
    out_ += '}';
  }
  out_ += ' ' + FormatPrometheusValue(value) + '\n';
}

void PrometheusText::Sample(const std::string& name, const Labels& labels, double value) { Line(name, labels, value); }

void PrometheusText::HistogramSamples(const std::string& name, const Labels& labels, const Histogram& h) {
  int64_t cumulative = 0;
  for (size_t i = 0; i <= h.bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    Labels with_le = labels;
    with_le.emplace_back("le", i < h.bounds.size() ? FormatPrometheusValue(h.bounds[i]) : "+Inf");
    Line(name + "_bucket", with_le, static_cast<double>(cumulative));
  }
  Line(name + "_sum", labels, h.sum);
  Line(name + "_count", labels, static_cast<double>(h.count));
}

}  // namespace crepe::server
