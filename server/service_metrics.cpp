#include "service_metrics.h"

#include <string_view>

#include "crepe/capacity.h"
#include "prometheus_text.h"

namespace crepe::server {
namespace {

const char* ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kLoading:
      return "loading";
    case ModelState::kReady:
      return "ready";
    case ModelState::kFailed:
      return "failed";
  }
  return "unknown";
}

void RenderCalls(PrometheusText& out,
                 const std::map<std::tuple<std::string, std::string, std::string>, int64_t>& requests,
                 const std::map<std::pair<std::string, std::string>, int64_t>& frames,
                 const std::map<std::pair<std::string, std::string>, double>& audio) {
  out.Family("crepe_requests_total", "counter", "Calls that ended, by method, model and gRPC status code.");
  for (const auto& [key, n] : requests) {
    const auto& [method, model, code] = key;
    out.Sample("crepe_requests_total", {{"method", method}, {"model", model}, {"code", code}}, static_cast<double>(n));
  }
  out.Family("crepe_request_frames_total", "counter", "Frames whose results calls received, by method and model.");
  for (const auto& [key, n] : frames) {
    out.Sample("crepe_request_frames_total", {{"method", key.first}, {"model", key.second}}, static_cast<double>(n));
  }
  out.Family("crepe_request_audio_seconds_total", "counter", "Seconds of audio calls sent, by method and model.");
  for (const auto& [key, seconds] : audio) {
    out.Sample("crepe_request_audio_seconds_total", {{"method", key.first}, {"model", key.second}}, seconds);
  }
}

}  // namespace

void ServiceMetrics::ObserveCall(const CallRecord& record, double total_seconds) {
  const std::string model = record.model.empty() ? "none" : record.model;
  const std::string code = StatusCodeName(record.outcome.code());
  std::lock_guard<std::mutex> lock(mutex_);
  requests_[{record.method, model, code}] += 1;
  RouteFigures& route = routes_[{record.method, model}];
  route.request_seconds.Observe(total_seconds);
  route.frames += record.summary.frames;
  route.audio_seconds += record.summary.audio_seconds;
  if (record.summary.frames > 0) {  // calls that reached the network
    route.queue_seconds.Observe(record.summary.queue_ms / 1000);
    route.compute_seconds.Observe(record.summary.compute_ms / 1000);
  }
}

std::string ServiceMetrics::Render(const std::vector<ModelView>& models, const Gauges& gauges,
                                   const ProcessStats& process) const {
  std::map<CallKey, int64_t> requests;
  std::map<RouteKey, RouteFigures> routes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests = requests_;
    routes = routes_;
  }
  PrometheusText out;
  std::map<RouteKey, int64_t> frames;
  std::map<RouteKey, double> audio;
  for (const auto& [key, route] : routes) {
    frames[key] = route.frames;
    audio[key] = route.audio_seconds;
  }
  RenderCalls(out, requests, frames, audio);
  struct RouteHistogram {
    const char* name;
    const char* help;
    Histogram RouteFigures::*member;
  };
  const RouteHistogram route_histograms[] = {
      {"crepe_request_duration_seconds", "Time from a call's arrival to its end, by method and model.",
       &RouteFigures::request_seconds},
      {"crepe_request_queue_duration_seconds",
       "Per call that ran frames: the longest any of its frames waited in the model's queue for a batch.",
       &RouteFigures::queue_seconds},
      {"crepe_request_compute_duration_seconds", "Per call that ran frames: its share of the network's time.",
       &RouteFigures::compute_seconds},
  };
  for (const RouteHistogram& h : route_histograms) {
    out.Family(h.name, "histogram", h.help);
    for (const auto& [key, route] : routes) {
      out.HistogramSamples(h.name, {{"method", key.first}, {"model", key.second}}, route.*(h.member));
    }
  }

  out.Family("crepe_calls_in_flight", "gauge", "Calls admitted and not yet ended.");
  out.Sample("crepe_calls_in_flight", {}, static_cast<double>(gauges.calls_in_flight));
  out.Family("crepe_streams_open", "gauge", "StreamPredict calls open.");
  out.Sample("crepe_streams_open", {}, static_cast<double>(gauges.streams_open));

  auto per_model = [&](const char* name, const char* type, const char* help, auto value) {
    out.Family(name, type, help);
    for (const ModelView& m : models) out.Sample(name, {{"model", std::string(CapacityName(m.capacity))}}, value(m));
  };
  out.Family("crepe_model_state", "gauge",
             "1 for the state each model is in (loading, ready, failed), 0 for the others.");
  for (const ModelView& m : models) {
    for (ModelState state : {ModelState::kLoading, ModelState::kReady, ModelState::kFailed}) {
      out.Sample("crepe_model_state",
                 {{"model", std::string(CapacityName(m.capacity))}, {"state", ModelStateName(state)}},
                 m.state == state ? 1 : 0);
    }
  }
  out.Family("crepe_model_resident_memory_bytes", "gauge", "Bytes of a model's weights held on its device.");
  for (const ModelView& m : models) {
    if (m.state != ModelState::kReady) continue;
    out.Sample("crepe_model_resident_memory_bytes",
               {{"model", std::string(CapacityName(m.capacity))}, {"device", m.info.device}},
               static_cast<double>(m.info.resident_bytes));
  }
  out.Family("crepe_model_info", "gauge", "Always 1: a ready model's device, weights checksum and batch size.");
  for (const ModelView& m : models) {
    if (m.state != ModelState::kReady) continue;
    out.Sample("crepe_model_info",
               {{"model", std::string(CapacityName(m.capacity))},
                {"device", m.info.device},
                {"weights_sha256", m.info.weights_sha256},
                {"max_batch", std::to_string(m.max_batch)}},
               1);
  }
  per_model("crepe_frames_processed_total", "counter", "Frames the network ran (in batches that succeeded).",
            [](const ModelView& m) { return static_cast<double>(m.stats.frames); });
  per_model("crepe_batches_total", "counter", "Batches the network ran, failed ones included.",
            [](const ModelView& m) { return static_cast<double>(m.stats.batches); });
  per_model("crepe_batches_failed_total", "counter", "Batches whose network run failed.",
            [](const ModelView& m) { return static_cast<double>(m.stats.failed_batches); });
  per_model("crepe_batches_shared_total", "counter", "Batches holding frames of more than one call.",
            [](const ModelView& m) { return static_cast<double>(m.stats.shared_batches); });
  per_model("crepe_network_busy_seconds_total", "counter", "Time the model's network spent running batches.",
            [](const ModelView& m) { return m.stats.busy_ms / 1000; });
  per_model("crepe_frames_queued", "gauge", "Frames waiting in the model's queue for a batch.",
            [](const ModelView& m) { return static_cast<double>(m.stats.queued_frames); });
  per_model("crepe_frames_reserved", "gauge", "Queue room the calls in progress hold (at most --max-queued-frames).",
            [](const ModelView& m) { return static_cast<double>(m.stats.reserved_frames); });
  struct ModelHistogram {
    const char* name;
    const char* help;
    Histogram BatcherStats::*member;
  };
  const ModelHistogram model_histograms[] = {
      {"crepe_batch_size_frames", "Frames per batch the network ran.", &BatcherStats::batch_frames},
      {"crepe_batch_compute_duration_seconds", "Network time per batch.", &BatcherStats::batch_seconds},
      {"crepe_queue_duration_seconds", "Per call's share of a batch: how long its oldest frame waited in the queue.",
       &BatcherStats::queue_wait_seconds},
  };
  for (const ModelHistogram& h : model_histograms) {
    out.Family(h.name, "histogram", h.help);
    for (const ModelView& m : models) {
      out.HistogramSamples(h.name, {{"model", std::string(CapacityName(m.capacity))}}, m.stats.*(h.member));
    }
  }

  auto process_gauge = [&](const char* name, const char* type, const char* help, double value) {
    if (value < 0) return;  // could not be read
    out.Family(name, type, help);
    out.Sample(name, {}, value);
  };
  process_gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                static_cast<double>(process.resident_bytes));
  process_gauge("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                static_cast<double>(process.virtual_bytes));
  process_gauge("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                process.cpu_seconds);
  process_gauge("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
                process.start_time_seconds);
  process_gauge("process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(process.open_fds));
  process_gauge("process_threads", "gauge", "Number of OS threads in the process.",
                static_cast<double>(process.threads));
  return out.text();
}

}  // namespace crepe::server
