// The service's metrics without Prometheus: histogram buckets, the text format, and the values
// ServiceMetrics reports for calls and models.
#include <gtest/gtest.h>

#include <cmath>
#include <ctime>
#include <map>
#include <sstream>
#include <string>

#include "histogram.h"
#include "process_stats.h"
#include "prometheus_text.h"
#include "service_metrics.h"

namespace crepe::server {
namespace {

// "name{labels} value" lines of an exposition -> value by "name{labels}" (comments skipped).
std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

TEST(Histogram, CountsEachValueInTheFirstBucketWhoseBoundIsNotBelowIt) {
  Histogram h({1, 2, 4});
  for (double v : {0.5, 1.0, 1.5, 4.0, 4.5, 100.0}) h.Observe(v);
  EXPECT_EQ(h.counts, (std::vector<int64_t>{2, 1, 1, 2}));
  EXPECT_EQ(h.count, 6);
  EXPECT_DOUBLE_EQ(h.sum, 111.5);
  EXPECT_EQ(ExponentialBounds(0.5, 2, 4), (std::vector<double>{0.5, 1, 2, 4}));
}

TEST(PrometheusText, WritesFamiliesSamplesAndCumulativeBuckets) {
  Histogram h({0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(7);
  PrometheusText out;
  out.Family("x_seconds", "histogram", "What x took.");
  out.HistogramSamples("x_seconds", {{"model", "tiny"}}, h);
  out.Family("y_total", "counter", "Ys.");
  out.Sample("y_total", {{"path", "a\"b\\c\nd"}}, 3);
  EXPECT_EQ(out.text(),
            "# HELP x_seconds What x took.\n# TYPE x_seconds histogram\n"
            "x_seconds_bucket{model=\"tiny\",le=\"0.1\"} 1\n"
            "x_seconds_bucket{model=\"tiny\",le=\"1\"} 2\n"
            "x_seconds_bucket{model=\"tiny\",le=\"+Inf\"} 3\n"
            "x_seconds_sum{model=\"tiny\"} 7.55\n"
            "x_seconds_count{model=\"tiny\"} 3\n"
            "# HELP y_total Ys.\n# TYPE y_total counter\n"
            "y_total{path=\"a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(PrometheusText, FormatsValuesAsGoReadsThem) {
  EXPECT_EQ(FormatPrometheusValue(0.1), "0.1");
  EXPECT_EQ(FormatPrometheusValue(1948384), "1948384");
  EXPECT_EQ(FormatPrometheusValue(0.00025), "0.00025");
  EXPECT_EQ(FormatPrometheusValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatPrometheusValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatPrometheusValue(NAN), "NaN");
}

CallRecord Call(const char* method, const std::string& model, Status outcome, int64_t frames, double queue_ms,
                double compute_ms) {
  CallRecord r;
  r.method = method;
  r.model = model;
  r.outcome = std::move(outcome);
  r.summary.frames = frames;
  r.summary.audio_seconds = frames / 100.0;
  r.summary.queue_ms = queue_ms;
  r.summary.compute_ms = compute_ms;
  return r;
}

TEST(ServiceMetrics, CountsCallsByMethodModelAndCode) {
  ServiceMetrics metrics;
  metrics.ObserveCall(Call("Predict", "tiny", Status::Ok(), 301, 2, 150), 0.2);
  metrics.ObserveCall(Call("Predict", "tiny", Status::Ok(), 100, 40, 60), 0.09);
  metrics.ObserveCall(Call("Predict", "", InvalidArgumentError("no model"), 0, 0, 0), 0.001);
  metrics.ObserveCall(Call("StreamPredict", "full", CancelledError("gone"), 50, 1, 900), 3);
  auto s = ParseExposition(metrics.Render({}, {2, 1}, ProcessStats{}));
  EXPECT_EQ(s["crepe_requests_total{method=\"Predict\",model=\"tiny\",code=\"OK\"}"], 2);
  EXPECT_EQ(s["crepe_requests_total{method=\"Predict\",model=\"none\",code=\"INVALID_ARGUMENT\"}"], 1);
  EXPECT_EQ(s["crepe_requests_total{method=\"StreamPredict\",model=\"full\",code=\"CANCELLED\"}"], 1);
  EXPECT_EQ(s["crepe_request_frames_total{method=\"Predict\",model=\"tiny\"}"], 401);
  EXPECT_DOUBLE_EQ(s["crepe_request_audio_seconds_total{method=\"Predict\",model=\"tiny\"}"], 4.01);
  // Durations: 0.2 s and 0.09 s; bounds double from 0.25 ms, so 0.128 s separates them.
  EXPECT_EQ(s["crepe_request_duration_seconds_count{method=\"Predict\",model=\"tiny\"}"], 2);
  EXPECT_EQ(s["crepe_request_duration_seconds_bucket{method=\"Predict\",model=\"tiny\",le=\"0.128\"}"], 1);
  EXPECT_EQ(s["crepe_request_duration_seconds_bucket{method=\"Predict\",model=\"tiny\",le=\"0.256\"}"], 2);
  EXPECT_DOUBLE_EQ(s["crepe_request_duration_seconds_sum{method=\"Predict\",model=\"tiny\"}"], 0.29);
  EXPECT_DOUBLE_EQ(s["crepe_request_queue_duration_seconds_sum{method=\"Predict\",model=\"tiny\"}"], 0.042);
  EXPECT_DOUBLE_EQ(s["crepe_request_compute_duration_seconds_sum{method=\"Predict\",model=\"tiny\"}"], 0.21);
  // A call refused before it ran frames has a duration but no queue or compute time.
  EXPECT_EQ(s["crepe_request_duration_seconds_count{method=\"Predict\",model=\"none\"}"], 1);
  EXPECT_EQ(s["crepe_request_queue_duration_seconds_count{method=\"Predict\",model=\"none\"}"], 0);
  EXPECT_EQ(s["crepe_calls_in_flight"], 2);
  EXPECT_EQ(s["crepe_streams_open"], 1);
}

TEST(ServiceMetrics, ReportsModelsAndTheirBatchers) {
  ModelView ready{Capacity::kTiny, ModelState::kReady, "", {}, {}, 256};
  ready.info.device = "cuda:0";
  ready.info.resident_bytes = 1948384;
  ready.info.weights_sha256 = "abc";
  ready.stats.frames = 1000;
  ready.stats.batches = 5;
  ready.stats.failed_batches = 1;
  ready.stats.busy_ms = 1500;
  ready.stats.queued_frames = 64;
  ready.stats.reserved_frames = 512;
  for (double rows : {256.0, 256.0, 256.0, 232.0}) ready.stats.batch_frames.Observe(rows);
  ModelView loading{Capacity::kFull, ModelState::kLoading, "", {}, {}, 0};
  ProcessStats process;
  process.resident_bytes = 1 << 30;
  process.cpu_seconds = 12.5;
  auto s = ParseExposition(ServiceMetrics().Render({ready, loading}, {}, process));
  EXPECT_EQ(s["crepe_model_state{model=\"tiny\",state=\"ready\"}"], 1);
  EXPECT_EQ(s["crepe_model_state{model=\"tiny\",state=\"loading\"}"], 0);
  EXPECT_EQ(s["crepe_model_state{model=\"full\",state=\"loading\"}"], 1);
  EXPECT_EQ(s["crepe_model_resident_memory_bytes{model=\"tiny\",device=\"cuda:0\"}"], 1948384);
  EXPECT_EQ(s.count("crepe_model_resident_memory_bytes{model=\"full\",device=\"\"}"), 0u);  // not loaded yet
  EXPECT_EQ(s["crepe_model_info{model=\"tiny\",device=\"cuda:0\",weights_sha256=\"abc\",max_batch=\"256\"}"], 1);
  EXPECT_EQ(s["crepe_frames_processed_total{model=\"tiny\"}"], 1000);
  EXPECT_EQ(s["crepe_batches_total{model=\"tiny\"}"], 5);
  EXPECT_EQ(s["crepe_batches_failed_total{model=\"tiny\"}"], 1);
  EXPECT_EQ(s["crepe_network_busy_seconds_total{model=\"tiny\"}"], 1.5);
  EXPECT_EQ(s["crepe_frames_queued{model=\"tiny\"}"], 64);
  EXPECT_EQ(s["crepe_frames_reserved{model=\"tiny\"}"], 512);
  EXPECT_EQ(s["crepe_batch_size_frames_bucket{model=\"tiny\",le=\"128\"}"], 0);
  EXPECT_EQ(s["crepe_batch_size_frames_bucket{model=\"tiny\",le=\"256\"}"], 4);
  EXPECT_EQ(s["crepe_batch_size_frames_sum{model=\"tiny\"}"], 1000);
  EXPECT_EQ(s["crepe_frames_processed_total{model=\"full\"}"], 0);
  EXPECT_EQ(s["process_resident_memory_bytes"], 1 << 30);
  EXPECT_EQ(s["process_cpu_seconds_total"], 12.5);
  EXPECT_EQ(s.count("process_virtual_memory_bytes"), 0u);  // -1: could not be read, so not reported
}

TEST(ProcessStats, ReadsThisProcess) {
  const ProcessStats p = ReadProcessStats();
  EXPECT_GT(p.resident_bytes, 1 << 20);
  EXPECT_GE(p.virtual_bytes, p.resident_bytes);
  EXPECT_GE(p.cpu_seconds, 0);
  EXPECT_GT(p.threads, 0);
  EXPECT_GT(p.open_fds, 2);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(p.start_time_seconds, now - 3600);
  EXPECT_LE(p.start_time_seconds, now + 1);
}

}  // namespace
}  // namespace crepe::server
