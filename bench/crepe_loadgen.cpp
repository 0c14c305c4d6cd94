// crepe-loadgen: a load generator for crepe-server (crepe.v1.PitchService). Not a test: it keeps C
// calls in flight (Predict or StreamPredict, one thread per call slot, the sync API), sweeps C,
// and prints one markdown table row per point; with --json, a machine-readable record that
// bench/run_service_bench.sh turns into bench/RESULTS.md's table (bench/service_table.py).
//
// Per point (model, mode, concurrency C):
//   1. warm-up: at least --warmup-s, and until every one of the C slots has finished one call
//      (at most --max-warmup-s), so the server is in its steady state;
//   2. window: at least --duration-s, and until --requests (plus --requests-per-worker x C) calls
//      have finished inside it (at most --max-window-s);
//   3. the calls still running are cancelled, and the next point waits for the server's queue to
//      drain (ListModels' queued_frames = 0).
// With --quiet-max-pct, each measurement (each point, and the in-process one) first waits until
// the machine is quiet, so that other processes' load does not end up in the figures; the CPU the
// rest of the machine used during each window is recorded (machine CPU less server and client);
// with --max-others-cores, a measurement disturbed by more than that is taken again (--retries).
// Throughput is counted two ways over the window:
//   - served frames/s: the model's batcher counter (ListModels frames_processed), polled every
//     25 ms through the window; the rate between the first and the last batch that finished
//     inside it (the counter moves a whole batch at a time, seconds apart for the full model).
//   - received frames/s: frames the client received inside the window. Exact for streams (frames
//     arrive as they are final); for Predict a whole clip arrives at once, so it is quantised to
//     whole clips and only meaningful when many calls finish inside the window.
// In steady state the two agree (every frame served is delivered); they are both printed.
// Latency: per call, from the call's start to its last message (Predict's response, the
// stream's summary), over the calls that finished inside the window; p99 is nearest-rank, so with
// fewer than 100 calls it is the slowest one. Streams also give the time to the first frames.
//
// --in-process: before the sweep (with the server idle), the core's own throughput on the same
// audio and options: crepe::Model on the CPU, crepe::Predictor::Predict over the clip again and
// again from one thread, torch's intra-op threads as set here (--threads, or OMP_NUM_THREADS /
// torch's default, which is what crepe-server uses). Its frames/s is the reference of the
// "service / in-process" column (printed against the figure from before the sweep; with
// --in-process-after it is measured again after the sweep, and bench/service_table.py divides by
// the mean of the two).
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_json.h"
#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "crepe/model.h"
#include "crepe/prediction.h"
#include "crepe/predictor.h"
#include "crepe/v1/pitch.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "request_codec.h"

// torch's intra-op thread count (ATen/Parallel.h, exported by libtorch_cpu). Declared here rather
// than included: this program links gRPC and Protobuf, and LibTorch's include directories carry
// their own google/protobuf headers, which must not shadow the system's (see
// crepe_torch_link_only in cmake/CrepeDependencies.cmake).
namespace at {
void set_num_threads(int);
int get_num_threads();
}  // namespace at

namespace crepe::loadgen {
namespace {

using bench::JsonEscape;
using bench::Num;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct Options {
  std::string server;  // empty: --in-process only
  std::string model = "tiny";
  std::string audio = "/work/shared/testdata/crepe-reference/test.wav";
  std::vector<std::string> modes = {"unary", "stream"};
  std::vector<int> concurrency = {1, 2, 4, 8};
  double duration_s = 10;
  int64_t requests = 0;
  double requests_per_worker = 1.0;
  double max_window_s = 120;
  double warmup_s = 2;
  double max_warmup_s = 30;
  double chunk_ms = 100;
  std::string unary_audio = "encoded";  // encoded | pcm
  std::string pcm = "int16";            // int16 | float32
  std::string decoder = "weighted_argmax";
  int channels = 1;
  double deadline_s = 600;
  double wait_ready_s = 180;
  double idle_timeout_s = 60;
  int server_pid = 0;
  double quiet_max_pct = 0;  // wait before each measurement until the machine is at most this busy
  double quiet_wait_s = 300;
  double max_others_cores = 0;  // redo a measurement when other processes used more (0: never)
  int retries = 2;
  bool in_process = false;
  bool in_process_after = false;  // measure it again after the sweep (the machine's speed drifts)
  double in_process_s = 10;
  int in_process_min_calls = 3;
  int64_t batch = 256;
  int threads = 0;
  std::string models_dir;
  std::string device = "cpu";      // of the in-process reference
  bool synthetic_weights = false;  // in-process: stand-in weights (match crepe-server --synthetic-weights)
  std::string precision = "fp32";  // in-process (match crepe-server --precision)
  std::string json;
  bool header = true;
};

// ---------------------------------------------------------------------------------------------
// CPU accounting (seconds of CPU; divided by wall seconds gives cores busy)

double OwnCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// utime + stime of a process from /proc/PID/stat; -1 when unreadable.
double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15 (1-based) are utime, stime
    if (i == 14) utime = std::atof(field.c_str());
    if (i == 15) stime = std::atof(field.c_str());
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Busy CPU seconds of the whole machine (user+nice+system+irq+softirq+steal) from /proc/stat.
double MachineBusySeconds() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  double v[8] = {0};
  f >> cpu;
  for (double& x : v) f >> x;
  return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct CpuSnapshot {
  double own = 0, server = -1, machine = 0;
  static CpuSnapshot Take(int server_pid) {
    return {OwnCpuSeconds(), ProcessCpuSeconds(server_pid), MachineBusySeconds()};
  }
};

// Waits (up to max_wait_s) until the whole machine was at most max_pct busy over one second, the
// server being idle then; returns the last busy figure (per cent of all cores). 0 = no waiting.
double WaitQuiet(double max_pct, double max_wait_s) {
  if (max_pct <= 0) return NAN;
  const auto start = Clock::now();
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  double busy = 100;
  while (true) {
    const double a = MachineBusySeconds();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    busy = 100.0 * (MachineBusySeconds() - a) / cores;
    if (busy <= max_pct) break;
    if (SecondsSince(start) >= max_wait_s) {
      std::fprintf(stderr, "warning: machine still %.0f%% busy after %.0f s; measuring anyway\n", busy, max_wait_s);
      break;
    }
  }
  return busy;
}

// ---------------------------------------------------------------------------------------------
// Statistics

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Largest |a - b| over frames where both are numbers; a NaN on one side only counts as infinity.
double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool na = std::isnan(a[i]), nb = std::isnan(b[i]);
    if (na && nb) continue;
    if (na != nb) return INFINITY;
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// Workload

struct Workload {
  AudioBuffer audio;  // as read from the file
  double audio_seconds = 0;
  rpc::AnalysisRequest analysis;
  v1::PredictOptions wire_options;
  v1::PredictRequest unary;                // built once, shared read-only by every thread
  v1::StreamConfig stream_config;          //
  std::vector<std::string> stream_chunks;  // PCM bytes, --chunk-ms each
  int64_t expected_frames = 0;             // 0 until known (in-process result or first response)
  std::vector<float> reference_f0;         // in-process frequencies, when measured
};

Result<Workload> MakeWorkload(const Options& o) {
  Workload w;
  CREPE_ASSIGN_OR_RETURN(w.audio, ReadAudioFile(o.audio));
  w.audio_seconds = static_cast<double>(w.audio.frames()) / w.audio.sample_rate;
  CREPE_ASSIGN_OR_RETURN(w.analysis.capacity, ParseCapacity(o.model));
  CREPE_ASSIGN_OR_RETURN(w.analysis.options.decoder, ParseDecoder(o.decoder));
  w.analysis.options.batch_frames = o.batch;
  rpc::EncodeOptions(w.analysis, &w.wire_options);

  const v1::SampleFormat format = o.pcm == "float32" ? v1::SAMPLE_FORMAT_FLOAT32 : v1::SAMPLE_FORMAT_INT16;
  *w.unary.mutable_options() = w.wire_options;
  if (o.unary_audio == "encoded") {
    std::ifstream f(o.audio, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (bytes.empty()) return InvalidArgumentError("cannot read " + o.audio);
    w.unary.mutable_audio()->set_encoded(std::move(bytes));
  } else {
    v1::PcmAudio* pcm = w.unary.mutable_audio()->mutable_pcm();
    pcm->set_sample_rate_hz(w.audio.sample_rate);
    pcm->set_channels(w.audio.channels);
    pcm->set_format(format);
    pcm->set_data(rpc::EncodePcm(w.audio.samples.data(), w.audio.samples.size(), format));
  }

  *w.stream_config.mutable_options() = w.wire_options;
  w.stream_config.set_sample_rate_hz(w.audio.sample_rate);
  w.stream_config.set_channels(w.audio.channels);
  w.stream_config.set_format(format);
  const auto chunk_frames =
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(o.chunk_ms / 1000.0 * w.audio.sample_rate)));
  for (int64_t start = 0; start < w.audio.frames(); start += chunk_frames) {
    const int64_t n = std::min(chunk_frames, w.audio.frames() - start);
    w.stream_chunks.push_back(rpc::EncodePcm(w.audio.samples.data() + start * w.audio.channels,
                                        static_cast<size_t>(n * w.audio.channels), format));
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// In-process reference

struct InProcessResult {
  bool measured = false;
  int calls = 0;
  int64_t frames_per_call = 0;
  double total_s = 0, median_s = 0, best_s = 0, worst_s = 0, warmup_s = 0;
  double cpu_cores = 0, machine_cores = 0, busy_before_pct = NAN;
  int attempts = 1;
  double fps() const { return total_s > 0 ? frames_per_call * calls / total_s : 0; }
};

Result<InProcessResult> MeasureInProcess(const Options& o, Workload& w) {
  std::string dir = o.models_dir;
  if (dir.empty()) {
    const char* env = std::getenv("CREPE_MODELS_DIR");
    dir = env != nullptr ? env : CREPE_DEFAULT_MODELS_DIR;
  }
  ModelOptions model_options;
  model_options.device = o.device;
  CREPE_ASSIGN_OR_RETURN(model_options.precision, ParsePrecision(o.precision));
  std::unique_ptr<Model> model;
  if (o.synthetic_weights) {
    CREPE_ASSIGN_OR_RETURN(model, Model::Create(MakeSyntheticWeights(w.analysis.capacity), model_options));
  } else {
    CREPE_ASSIGN_OR_RETURN(model, Model::Load(dir + "/" + o.model + ".h5", w.analysis.capacity, model_options));
  }
  Predictor predictor(*model);
  InProcessResult r;
  auto t = Clock::now();
  CREPE_ASSIGN_OR_RETURN(Prediction first, predictor.Predict(w.audio, w.analysis.options));
  r.warmup_s = SecondsSince(t);
  r.frames_per_call = first.frames();
  w.expected_frames = first.frames();
  w.reference_f0 = first.frequency;
  std::vector<double> calls;
  r.busy_before_pct = WaitQuiet(o.quiet_max_pct, o.quiet_wait_s);
  const double cpu0 = OwnCpuSeconds(), machine0 = MachineBusySeconds();
  const auto start = Clock::now();
  while (calls.size() < static_cast<size_t>(o.in_process_min_calls) || SecondsSince(start) < o.in_process_s) {
    t = Clock::now();
    CREPE_ASSIGN_OR_RETURN(Prediction p, predictor.Predict(w.audio, w.analysis.options));
    calls.push_back(SecondsSince(t));
    if (p.frames() != r.frames_per_call) return InternalError("in-process: frame count changed between calls");
  }
  r.total_s = SecondsSince(start);
  r.cpu_cores = (OwnCpuSeconds() - cpu0) / r.total_s;
  r.machine_cores = (MachineBusySeconds() - machine0) / r.total_s;
  r.measured = true;
  r.calls = static_cast<int>(calls.size());
  r.median_s = Percentile(calls, 50);
  r.best_s = *std::min_element(calls.begin(), calls.end());
  r.worst_s = *std::max_element(calls.begin(), calls.end());
  return r;
}

// ---------------------------------------------------------------------------------------------
// Service

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

Status WaitServing(const std::shared_ptr<grpc::Channel>& channel, double timeout_s) {
  auto health = grpc::health::v1::Health::NewStub(channel);
  const auto start = Clock::now();
  std::string last = "no answer";
  while (SecondsSince(start) < timeout_s) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    const grpc::Status s = health->Check(&ctx, req, &resp);
    if (s.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) return Status::Ok();
    last = s.ok() ? "status " + std::to_string(resp.status()) : s.error_message();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return UnavailableError("the server was not SERVING after " + std::to_string(timeout_s) + " s (" + last + ")");
}

struct ModelCounters {
  int64_t frames = 0, batches = 0, shared = 0, largest = 0, queued = 0, max_batch = 0;
  std::string device;
  Clock::time_point at;  // midpoint of the ListModels call
};

Result<ModelCounters> ReadCounters(v1::PitchService::Stub& stub, v1::Capacity capacity) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListModelsResponse resp;
  const auto before = Clock::now();
  const grpc::Status s = stub.ListModels(&ctx, v1::ListModelsRequest(), &resp);
  const auto after = Clock::now();
  if (!s.ok()) return UnavailableError("ListModels failed: " + s.error_message());
  for (const v1::ModelStatus& m : resp.models()) {
    if (m.model().capacity() != capacity) continue;
    if (m.state() != v1::ModelStatus::STATE_READY) return UnavailableError("the model is not READY: " + m.error());
    ModelCounters c;
    c.frames = m.frames_processed();
    c.batches = m.batches_run();
    c.shared = m.batches_shared();
    c.largest = m.largest_batch();
    c.queued = m.queued_frames();
    c.max_batch = m.max_batch_frames();
    c.device = m.model().device();
    c.at = before + (after - before) / 2;
    return c;
  }
  return NotFoundError("the server does not hold this model (ListModels)");
}

// One finished call.
struct CallRecord {
  Clock::time_point start, end;
  double first_frames_s = NAN;  // streams: time to the first frames message
  bool ok = false;
  bool cancelled_by_us = false;
  int code = 0;
  std::string error;
};

// Frames that arrived at one moment (a stream's frames message, or a whole Predict response).
struct Arrival {
  Clock::time_point at;
  int64_t frames;
};

struct Slot {
  std::mutex mutex;
  grpc::ClientContext* context = nullptr;  // the call in flight, for cancelling it
  std::vector<CallRecord> calls;
  std::vector<Arrival> arrivals;
  int64_t frame_mismatches = 0;
  double max_f0_diff = 0;
  bool compared = false;
};

struct PointResult {
  std::string mode;
  int concurrency = 0;
  double warmup_s = 0, window_s = 0;
  int64_t completed = 0, errors = 0, cancelled_at_end = 0, frame_mismatches = 0;
  std::map<std::string, int64_t> error_codes;
  std::vector<std::string> error_samples;
  double p50_s = NAN, p99_s = NAN, mean_s = NAN, max_s = NAN, first_frames_p50_s = NAN;
  double served_fps = 0, received_fps = 0, xrt = 0, ratio = NAN;
  double served_span_s = 0;    // from the first to the last batch that finished in the window
  int64_t served_batches = 0;  // batches in that span
  int64_t batches = 0, shared_batches = 0;
  double mean_batch = 0;
  double server_cores = -1, client_cores = 0, machine_cores = 0;
  double max_f0_diff = NAN;
  double busy_before_pct = NAN;
  int attempts = 1;
  bool compared = false;
  bool drained = true;
  double drain_s = 0;
};

class Point {
 public:
  Point(const Options& o, Workload& w, std::vector<std::shared_ptr<grpc::Channel>> channels, bool stream, int c)
      : o_(o), w_(w), channels_(std::move(channels)), stream_(stream), slots_(static_cast<size_t>(c)) {
    for (auto& s : slots_) s = std::make_unique<Slot>();
  }

  Result<PointResult> Run(v1::PitchService::Stub& control) {
    PointResult r;
    r.mode = stream_ ? "stream" : "unary";
    r.concurrency = static_cast<int>(slots_.size());
    const v1::Capacity capacity = rpc::CapacityToWire(w_.analysis.capacity);
    r.busy_before_pct = WaitQuiet(o_.quiet_max_pct, o_.quiet_wait_s);

    start_ = Clock::now();
    for (size_t i = 0; i < slots_.size(); ++i) threads_.emplace_back([this, i] { Work(i); });

    // Warm-up: every slot has finished a call (or --max-warmup-s), and at least --warmup-s.
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const double t = SecondsSince(start_);
      if (t >= o_.max_warmup_s || (t >= o_.warmup_s && slots_done_.load() >= static_cast<int>(slots_.size()))) break;
    }
    CREPE_ASSIGN_OR_RETURN(ModelCounters c0, ReadCounters(control, capacity));
    const CpuSnapshot cpu0 = CpuSnapshot::Take(o_.server_pid);
    const auto t0 = Clock::now();
    window_start_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count());
    r.warmup_s = Seconds(start_, t0);

    const int64_t want = o_.requests + static_cast<int64_t>(std::ceil(o_.requests_per_worker * slots_.size()));
    // The batcher's counter moves once per batch (256 frames: over 3 s for full on this kind of
    // machine), so it is polled: the served rate is taken between the first and the last batch
    // that finished inside the window, which makes it exact to the polling interval.
    std::vector<ModelCounters> changes;
    int64_t last_frames = c0.frames;
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      CREPE_ASSIGN_OR_RETURN(ModelCounters c, ReadCounters(control, capacity));
      if (c.frames != last_frames) {
        changes.push_back(c);
        last_frames = c.frames;
      }
      const double t = SecondsSince(t0);
      if (t >= o_.max_window_s || (t >= o_.duration_s && in_window_.load() >= want)) break;
    }
    const auto t1 = Clock::now();
    const CpuSnapshot cpu1 = CpuSnapshot::Take(o_.server_pid);
    CREPE_ASSIGN_OR_RETURN(ModelCounters c1, ReadCounters(control, capacity));
    r.window_s = Seconds(t0, t1);

    StopAndJoin();  // no new calls; those in flight are cancelled

    // Throughput, batching, CPU.
    if (changes.size() >= 2) {
      r.served_span_s = Seconds(changes.front().at, changes.back().at);
      r.served_batches = changes.back().batches - changes.front().batches;
      r.served_fps = static_cast<double>(changes.back().frames - changes.front().frames) / r.served_span_s;
    } else {  // fewer than two batches finished in the window: the plain (coarse) difference
      r.served_span_s = Seconds(c0.at, c1.at);
      r.served_batches = c1.batches - c0.batches;
      r.served_fps = static_cast<double>(c1.frames - c0.frames) / r.served_span_s;
    }
    r.batches = c1.batches - c0.batches;
    r.shared_batches = c1.shared - c0.shared;
    r.mean_batch = r.batches > 0 ? static_cast<double>(c1.frames - c0.frames) / r.batches : 0;
    r.client_cores = (cpu1.own - cpu0.own) / r.window_s;
    r.machine_cores = (cpu1.machine - cpu0.machine) / r.window_s;
    if (cpu0.server >= 0 && cpu1.server >= 0) r.server_cores = (cpu1.server - cpu0.server) / r.window_s;

    // Calls and arrivals inside the window.
    std::vector<double> latencies, first_frames;
    int64_t received = 0;
    for (auto& s : slots_) {
      for (const CallRecord& call : s->calls) {
        if (call.end < t0 || call.end > t1) continue;
        if (call.cancelled_by_us) continue;
        if (!call.ok) {
          r.errors += 1;
          r.error_codes[std::to_string(call.code)] += 1;
          if (r.error_samples.size() < 5) r.error_samples.push_back(call.error);
          continue;
        }
        r.completed += 1;
        latencies.push_back(Seconds(call.start, call.end));
        if (!std::isnan(call.first_frames_s)) first_frames.push_back(call.first_frames_s);
      }
      for (const CallRecord& call : s->calls) {
        if (call.cancelled_by_us) r.cancelled_at_end += 1;
        // Errors outside the window are failures too: count them (they are not throughput).
        if (!call.ok && !call.cancelled_by_us && (call.end < t0 || call.end > t1)) {
          r.errors += 1;
          r.error_codes[std::to_string(call.code)] += 1;
          if (r.error_samples.size() < 5) r.error_samples.push_back(call.error);
        }
      }
      for (const Arrival& a : s->arrivals) {
        if (a.at >= t0 && a.at <= t1) received += a.frames;
      }
      r.frame_mismatches += s->frame_mismatches;
      if (s->compared) {
        r.compared = true;
        r.max_f0_diff = std::isnan(r.max_f0_diff) ? s->max_f0_diff : std::max(r.max_f0_diff, s->max_f0_diff);
      }
    }
    r.received_fps = static_cast<double>(received) / r.window_s;
    if (!latencies.empty()) {
      r.p50_s = Percentile(latencies, 50);
      r.p99_s = Percentile(latencies, 99);
      r.max_s = *std::max_element(latencies.begin(), latencies.end());
      double sum = 0;
      for (double l : latencies) sum += l;
      r.mean_s = sum / static_cast<double>(latencies.size());
    }
    r.first_frames_p50_s = Percentile(first_frames, 50);

    // Drain: the next point starts on an idle server.
    const auto drain_start = Clock::now();
    r.drained = false;
    while (SecondsSince(drain_start) < o_.idle_timeout_s) {
      CREPE_ASSIGN_OR_RETURN(ModelCounters c, ReadCounters(control, capacity));
      if (c.queued == 0) {
        r.drained = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    r.drain_s = SecondsSince(drain_start);
    return r;
  }

  // Also on an early return (a failed ListModels): the threads must not outlive the point.
  ~Point() { StopAndJoin(); }
  Point(const Point&) = delete;
  Point& operator=(const Point&) = delete;

 private:
  void StopAndJoin() {
    stop_.store(true);
    for (auto& s : slots_) {
      std::lock_guard<std::mutex> lock(s->mutex);
      if (s->context != nullptr) s->context->TryCancel();
    }
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  bool InWindow(Clock::time_point t) const {
    const int64_t start = window_start_ns_.load();
    return start != 0 && std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count() >= start;
  }

  void Work(size_t index) {
    Slot& slot = *slots_[index];
    auto stub = v1::PitchService::NewStub(channels_[index % channels_.size()]);
    bool first = true;
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(o_.deadline_s * 1000)));
      {
        std::lock_guard<std::mutex> lock(slot.mutex);
        if (stop_.load()) break;
        slot.context = &ctx;
      }
      CallRecord call;
      std::vector<float> f0;
      int64_t frames = 0;
      call.start = Clock::now();
      grpc::Status status =
          stream_ ? StreamCall(*stub, ctx, slot, call, f0, frames) : UnaryCall(*stub, ctx, slot, f0, frames);
      call.end = Clock::now();
      {
        std::lock_guard<std::mutex> lock(slot.mutex);
        slot.context = nullptr;
      }
      call.ok = status.ok();
      call.code = static_cast<int>(status.error_code());
      call.cancelled_by_us = !call.ok && stop_.load() && status.error_code() == grpc::StatusCode::CANCELLED;
      if (!call.ok) {
        call.error = std::to_string(call.code) + ": " + status.error_message();
      } else {
        if (w_.expected_frames > 0 && frames != w_.expected_frames) {
          slot.frame_mismatches += 1;
          call.ok = false;
          call.error = "got " + std::to_string(frames) + " frames, expected " + std::to_string(w_.expected_frames);
        } else if (!w_.reference_f0.empty()) {
          slot.max_f0_diff = std::max(slot.compared ? slot.max_f0_diff : 0.0, MaxAbsDiff(f0, w_.reference_f0));
          slot.compared = true;
        }
        if (call.ok && !stream_) slot.arrivals.push_back({call.end, frames});
        if (call.ok && InWindow(call.end)) in_window_.fetch_add(1);
      }
      slot.calls.push_back(std::move(call));
      if (first) {
        first = false;
        slots_done_.fetch_add(1);
      }
    }
  }

  grpc::Status UnaryCall(v1::PitchService::Stub& stub, grpc::ClientContext& ctx, Slot&, std::vector<float>& f0,
                         int64_t& frames) {
    v1::PredictResponse resp;
    grpc::Status s = stub.Predict(&ctx, w_.unary, &resp);
    if (s.ok()) {
      frames = resp.frames().time_s_size();
      f0.assign(resp.frames().frequency_hz().begin(), resp.frames().frequency_hz().end());
    }
    return s;
  }

  grpc::Status StreamCall(v1::PitchService::Stub& stub, grpc::ClientContext& ctx, Slot& slot, CallRecord& call,
                          std::vector<float>& f0, int64_t& frames) {
    std::unique_ptr<grpc::ClientReaderWriter<v1::StreamRequest, v1::StreamResponse>> rw(stub.StreamPredict(&ctx));
    std::thread writer([&] {
      v1::StreamRequest config;
      *config.mutable_config() = w_.stream_config;
      if (!rw->Write(config)) return;
      for (const std::string& chunk : w_.stream_chunks) {
        v1::StreamRequest m;
        m.set_audio(chunk);
        if (!rw->Write(m)) return;
      }
      rw->WritesDone();
    });
    v1::StreamResponse resp;
    int64_t summary_frames = -1;
    while (rw->Read(&resp)) {
      if (resp.has_frames()) {
        const auto now = Clock::now();
        const int n = resp.frames().time_s_size();
        if (frames == 0 && n > 0) call.first_frames_s = Seconds(call.start, now);
        frames += n;
        f0.insert(f0.end(), resp.frames().frequency_hz().begin(), resp.frames().frequency_hz().end());
        slot.arrivals.push_back({now, n});
      } else if (resp.has_summary()) {
        summary_frames = resp.summary().frames();
      }
    }
    writer.join();
    grpc::Status s = rw->Finish();
    if (s.ok() && summary_frames != frames) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "summary says " + std::to_string(summary_frames) +
                                                          " frames, received " + std::to_string(frames));
    }
    return s;
  }

  const Options& o_;
  Workload& w_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  const bool stream_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::thread> threads_;
  Clock::time_point start_;
  std::atomic<bool> stop_{false};
  std::atomic<int> slots_done_{0};
  std::atomic<int64_t> in_window_{0};
  std::atomic<int64_t> window_start_ns_{0};
};

// ---------------------------------------------------------------------------------------------
// Output

std::string Fmt(double v, const char* format) {
  if (!std::isfinite(v)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void PrintHeader() {
  std::printf(
      "| model | mode | C | calls | errors | p50 latency s | p99 latency s | first frames p50 s | served frames/s | "
      "received frames/s | x real time | service / in-process | mean batch | shared batches | server CPU | "
      "client CPU | machine CPU |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
}

void PrintInProcessRow(const std::string& model, const InProcessResult& r, double xrt_per_fps) {
  std::printf("| %s | in-process | 1 | %d | 0 | %s | %s | — | %s | %s | %s | 1.00 | — | — | — | %s | %s |\n",
              model.c_str(), r.calls, Fmt(r.median_s, "%.3f").c_str(), Fmt(r.worst_s, "%.3f").c_str(),
              Fmt(r.fps(), "%.1f").c_str(), Fmt(r.fps(), "%.1f").c_str(), Fmt(r.fps() * xrt_per_fps, "%.2f").c_str(),
              Fmt(r.cpu_cores, "%.2f").c_str(), Fmt(r.machine_cores, "%.2f").c_str());
  std::fflush(stdout);
}

void PrintPointRow(const std::string& model, const PointResult& r) {
  std::printf(
      "| %s | %s | %d | %lld | %lld | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", model.c_str(),
      r.mode.c_str(), r.concurrency, static_cast<long long>(r.completed), static_cast<long long>(r.errors),
      Fmt(r.p50_s, "%.3f").c_str(), Fmt(r.p99_s, "%.3f").c_str(), Fmt(r.first_frames_p50_s, "%.3f").c_str(),
      Fmt(r.served_fps, "%.1f").c_str(), Fmt(r.received_fps, "%.1f").c_str(), Fmt(r.xrt, "%.2f").c_str(),
      Fmt(r.ratio, "%.3f").c_str(), Fmt(r.mean_batch, "%.0f").c_str(),
      r.batches > 0 ? Fmt(100.0 * r.shared_batches / r.batches, "%.0f %%").c_str() : "—",
      Fmt(r.server_cores, "%.2f").c_str(), Fmt(r.client_cores, "%.2f").c_str(), Fmt(r.machine_cores, "%.2f").c_str());
  std::fflush(stdout);
}

std::string ToJson(const Options& o, const Workload& w, const InProcessResult& in, const InProcessResult& in_after,
                   const std::string& device, int64_t max_batch, const std::vector<PointResult>& points) {
  std::ostringstream j;
  const char* omp = std::getenv("OMP_NUM_THREADS");
  j << "{\n  \"tool\": \"crepe-loadgen\",\n";
  j << "  \"server\": \"" << JsonEscape(o.server) << "\",\n";
  j << "  \"server_device\": \"" << JsonEscape(device) << "\",\n";
  j << "  \"server_max_batch\": " << max_batch << ",\n";
  j << "  \"model\": \"" << JsonEscape(o.model) << "\",\n";
  j << "  \"decoder\": \"" << JsonEscape(o.decoder) << "\",\n";
  j << "  \"audio\": \"" << JsonEscape(o.audio) << "\",\n";
  j << "  \"audio_seconds\": " << Num(w.audio_seconds) << ",\n";
  j << "  \"sample_rate\": " << w.audio.sample_rate << ",\n";
  j << "  \"frames_per_clip\": " << w.expected_frames << ",\n";
  j << "  \"unary_audio\": \"" << o.unary_audio << "\",\n  \"pcm\": \"" << o.pcm << "\",\n";
  j << "  \"chunk_ms\": " << Num(o.chunk_ms) << ",\n  \"stream_chunks\": " << w.stream_chunks.size() << ",\n";
  j << "  \"torch_threads\": " << at::get_num_threads() << ",\n";
  j << "  \"omp_num_threads_env\": " << (omp ? "\"" + JsonEscape(omp) + "\"" : "null") << ",\n";
  j << "  \"hardware_threads\": " << std::thread::hardware_concurrency() << ",\n";
  j << "  \"rule\": {\"warmup_s\": " << Num(o.warmup_s) << ", \"max_warmup_s\": " << Num(o.max_warmup_s)
    << ", \"duration_s\": " << Num(o.duration_s) << ", \"requests\": " << o.requests
    << ", \"requests_per_worker\": " << Num(o.requests_per_worker) << ", \"max_window_s\": " << Num(o.max_window_s)
    << "},\n";
  auto in_process_json = [&](const InProcessResult& r) {
    if (!r.measured) return std::string("null");
    std::ostringstream k;
    k << "{\"calls\": " << r.calls << ", \"frames_per_call\": " << r.frames_per_call
      << ", \"total_s\": " << Num(r.total_s) << ", \"median_s\": " << Num(r.median_s)
      << ", \"best_s\": " << Num(r.best_s) << ", \"worst_s\": " << Num(r.worst_s)
      << ", \"warmup_s\": " << Num(r.warmup_s) << ", \"fps\": " << Num(r.fps())
      << ", \"xrt\": " << Num(r.fps() * w.audio_seconds / std::max<int64_t>(1, w.expected_frames))
      << ", \"cpu_cores\": " << Num(r.cpu_cores) << ", \"machine_cores\": " << Num(r.machine_cores)
      << ", \"busy_before_pct\": " << Num(r.busy_before_pct) << ", \"attempts\": " << r.attempts
      << ", \"batch_frames\": " << o.batch << "}";
    return k.str();
  };
  j << "  \"in_process\": " << in_process_json(in) << ",\n";
  j << "  \"in_process_after\": " << in_process_json(in_after) << ",\n";
  j << "  \"points\": [";
  for (size_t i = 0; i < points.size(); ++i) {
    const PointResult& p = points[i];
    j << (i ? ",\n    " : "\n    ") << "{\"mode\": \"" << p.mode << "\", \"concurrency\": " << p.concurrency
      << ", \"warmup_s\": " << Num(p.warmup_s) << ", \"window_s\": " << Num(p.window_s)
      << ", \"completed\": " << p.completed << ", \"errors\": " << p.errors
      << ", \"cancelled_at_end\": " << p.cancelled_at_end << ", \"frame_mismatches\": " << p.frame_mismatches
      << ", \"p50_s\": " << Num(p.p50_s) << ", \"p99_s\": " << Num(p.p99_s) << ", \"mean_s\": " << Num(p.mean_s)
      << ", \"max_s\": " << Num(p.max_s) << ", \"first_frames_p50_s\": " << Num(p.first_frames_p50_s)
      << ", \"served_fps\": " << Num(p.served_fps) << ", \"served_span_s\": " << Num(p.served_span_s)
      << ", \"served_batches\": " << p.served_batches << ", \"received_fps\": " << Num(p.received_fps)
      << ", \"xrt\": " << Num(p.xrt) << ", \"ratio\": " << Num(p.ratio) << ", \"batches\": " << p.batches
      << ", \"shared_batches\": " << p.shared_batches << ", \"mean_batch\": " << Num(p.mean_batch)
      << ", \"server_cores\": " << Num(p.server_cores) << ", \"client_cores\": " << Num(p.client_cores)
      << ", \"machine_cores\": " << Num(p.machine_cores) << ", \"busy_before_pct\": " << Num(p.busy_before_pct)
      << ", \"attempts\": " << p.attempts << ", \"max_f0_diff_hz\": " << (p.compared ? Num(p.max_f0_diff) : "null")
      << ", \"drained\": " << (p.drained ? "true" : "false") << ", \"drain_s\": " << Num(p.drain_s)
      << ", \"error_samples\": [";
    for (size_t e = 0; e < p.error_samples.size(); ++e)
      j << (e ? ", " : "") << "\"" << JsonEscape(p.error_samples[e]) << "\"";
    j << "]}";
  }
  j << "\n  ]\n}\n";
  return j.str();
}

Status WriteText(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) return InternalError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return InternalError("cannot rename " + tmp + " to " + path);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------

Status Run(const Options& o) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  CREPE_ASSIGN_OR_RETURN(Workload w, MakeWorkload(o));
  const char* omp = std::getenv("OMP_NUM_THREADS");
  std::fprintf(stderr,
               "crepe-loadgen: model %s, audio %s (%.2f s at %d Hz, %d channel(s)); torch intra-op threads %d "
               "(OMP_NUM_THREADS=%s), hardware threads %u\n",
               o.model.c_str(), o.audio.c_str(), w.audio_seconds, w.audio.sample_rate, w.audio.channels,
               at::get_num_threads(), omp ? omp : "unset", std::thread::hardware_concurrency());

  // The server first: its model loading and warm-up must be over before anything is measured.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::unique_ptr<v1::PitchService::Stub> control;
  std::string device;
  int64_t max_batch = 0;
  if (!o.server.empty()) {
    for (int i = 0; i < o.channels; ++i) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      args.SetMaxSendMessageSize(-1);
      args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
      args.SetInt("crepe.loadgen.channel", i);
      channels.push_back(grpc::CreateCustomChannel(o.server, grpc::InsecureChannelCredentials(), args));
    }
    auto control_channel = MakeChannel(o.server);
    CREPE_RETURN_IF_ERROR(WaitServing(control_channel, o.wait_ready_s));
    control = v1::PitchService::NewStub(control_channel);
    CREPE_ASSIGN_OR_RETURN(ModelCounters c, ReadCounters(*control, rpc::CapacityToWire(w.analysis.capacity)));
    device = c.device;
    max_batch = c.max_batch;
    std::fprintf(stderr, "server %s: model %s on %s, batch %lld frames\n", o.server.c_str(), o.model.c_str(),
                 device.c_str(), static_cast<long long>(max_batch));
  }

  auto measure_in_process = [&](const char* when) -> Result<InProcessResult> {
    std::fprintf(stderr, "in-process (%s): crepe::Predictor on cpu, batch %lld, >= %d calls and >= %.1f s ...\n", when,
                 static_cast<long long>(o.batch), o.in_process_min_calls, o.in_process_s);
    InProcessResult r;
    for (int attempt = 0;; ++attempt) {
      CREPE_ASSIGN_OR_RETURN(r, MeasureInProcess(o, w));
      const double others = r.machine_cores - r.cpu_cores;
      r.attempts = attempt + 1;
      std::fprintf(stderr, "  %.1f frames/s; other processes used %.2f cores meanwhile\n", r.fps(), others);
      if (o.max_others_cores <= 0 || others <= o.max_others_cores || attempt >= o.retries) break;
      std::fprintf(stderr, "  disturbed (more than %.2f cores): measuring again\n", o.max_others_cores);
    }
    return r;
  };
  InProcessResult in, in_after;
  if (o.in_process) {
    CREPE_ASSIGN_OR_RETURN(in, measure_in_process("before the sweep"));
  }
  auto xrt_per_fps = [&] { return w.expected_frames > 0 ? w.audio_seconds / w.expected_frames : NAN; };
  if (o.header) PrintHeader();
  if (in.measured) PrintInProcessRow(o.model, in, xrt_per_fps());

  std::vector<PointResult> points;
  if (control) {
    for (const std::string& mode : o.modes) {
      for (int conc : o.concurrency) {
        std::fprintf(stderr, "point: %s C=%d ...\n", mode.c_str(), conc);
        PointResult r;
        for (int attempt = 0;; ++attempt) {
          Point point(o, w, channels, mode == "stream", conc);
          CREPE_ASSIGN_OR_RETURN(r, point.Run(*control));
          r.attempts = attempt + 1;
          const double others = r.server_cores >= 0 ? r.machine_cores - r.server_cores - r.client_cores : 0;
          if (o.max_others_cores <= 0 || others <= o.max_others_cores || attempt >= o.retries || !r.drained) break;
          std::fprintf(stderr, "  disturbed (other processes used %.2f cores, more than %.2f): measuring again\n",
                       others, o.max_others_cores);
        }
        r.xrt = r.served_fps * xrt_per_fps();
        if (in.measured) r.ratio = r.served_fps / in.fps();
        std::fprintf(stderr,
                     "  warm-up %.1f s, window %.1f s, %lld calls done, %lld errors, %lld cancelled at the end; "
                     "max |f0 - in-process| %s Hz; drained %s in %.1f s\n",
                     r.warmup_s, r.window_s, static_cast<long long>(r.completed), static_cast<long long>(r.errors),
                     static_cast<long long>(r.cancelled_at_end), r.compared ? Fmt(r.max_f0_diff, "%.3g").c_str() : "-",
                     r.drained ? "yes" : "NO", r.drain_s);
        for (const std::string& e : r.error_samples) std::fprintf(stderr, "  error: %s\n", e.c_str());
        PrintPointRow(o.model, r);
        points.push_back(r);
        if (!o.json.empty())
          CREPE_RETURN_IF_ERROR(WriteText(o.json, ToJson(o, w, in, in_after, device, max_batch, points)));
        if (!r.drained) {
          return UnavailableError("the server still had frames queued " + std::to_string(o.idle_timeout_s) +
                                  " s after the point ended; stopping the sweep");
        }
      }
    }
  }
  if (o.in_process && o.in_process_after && control) {
    CREPE_ASSIGN_OR_RETURN(in_after, measure_in_process("after the sweep"));
    PrintInProcessRow(o.model + " (after)", in_after, xrt_per_fps());
  }
  if (!o.json.empty()) CREPE_RETURN_IF_ERROR(WriteText(o.json, ToJson(o, w, in, in_after, device, max_batch, points)));
  return Status::Ok();
}

}  // namespace
}  // namespace crepe::loadgen

int main(int argc, char** argv) {
  crepe::loadgen::Options o;
  CLI::App app{"crepe-loadgen: throughput and latency of crepe-server under C calls in flight"};
  app.add_option("--server", o.server, "HOST:PORT of crepe-server (empty: only --in-process)");
  app.add_option("--model", o.model, "Capacity: tiny small medium large full")
      ->check(CLI::IsMember({"tiny", "small", "medium", "large", "full"}))
      ->capture_default_str();
  app.add_option("--audio", o.audio, "Audio file (read in place)")->capture_default_str();
  app.add_option("--mode", o.modes, "unary (Predict), stream (StreamPredict), or both")
      ->delimiter(',')
      ->check(CLI::IsMember({"unary", "stream"}))
      ->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "Calls in flight, one point each (e.g. 1,2,4,8)")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--duration-s", o.duration_s, "Shortest measured window per point")->capture_default_str();
  app.add_option("--requests", o.requests, "Calls that must finish inside the window (besides the per-worker ones)")
      ->capture_default_str();
  app.add_option("--requests-per-worker", o.requests_per_worker,
                 "Calls per slot (x C) that must finish inside the window")
      ->capture_default_str();
  app.add_option("--max-window-s", o.max_window_s, "Longest measured window")->capture_default_str();
  app.add_option("--warmup-s", o.warmup_s, "Shortest warm-up per point")->capture_default_str();
  app.add_option("--max-warmup-s", o.max_warmup_s, "Longest warm-up (normally: until every slot finished a call)")
      ->capture_default_str();
  app.add_option("--chunk-ms", o.chunk_ms, "Audio per StreamPredict message, ms")->capture_default_str();
  app.add_option("--unary-audio", o.unary_audio, "Predict's audio: the encoded file or PCM")
      ->check(CLI::IsMember({"encoded", "pcm"}))
      ->capture_default_str();
  app.add_option("--pcm", o.pcm, "PCM sample format (streams, and --unary-audio pcm)")
      ->check(CLI::IsMember({"int16", "float32"}))
      ->capture_default_str();
  app.add_option("--decoder", o.decoder, "argmax, weighted_argmax or viterbi (both sides)")->capture_default_str();
  app.add_option("--channels", o.channels, "gRPC channels (TCP connections) the slots share")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--deadline-s", o.deadline_s, "Deadline of each call")->capture_default_str();
  app.add_option("--wait-ready-s", o.wait_ready_s, "How long to wait for the server's health to say SERVING")
      ->capture_default_str();
  app.add_option("--idle-timeout-s", o.idle_timeout_s, "How long the server's queue may take to drain after a point")
      ->capture_default_str();
  app.add_option("--server-pid", o.server_pid, "crepe-server's pid, to report its CPU use");
  app.add_option("--quiet-max-pct", o.quiet_max_pct,
                 "Before each measurement, wait until the machine is at most this % busy (0: do not wait)")
      ->capture_default_str();
  app.add_option("--quiet-wait-s", o.quiet_wait_s, "Longest wait for a quiet machine")->capture_default_str();
  app.add_option("--max-others-cores", o.max_others_cores,
                 "Measure again when other processes used more cores than this meanwhile (0: never)")
      ->capture_default_str();
  app.add_option("--retries", o.retries, "How often a disturbed measurement is repeated at most")
      ->capture_default_str();
  app.add_flag("--in-process", o.in_process, "Also measure the core in this process first (the server idle)");
  app.add_flag("--in-process-after", o.in_process_after,
               "With --in-process: measure it again after the sweep (this machine's speed drifts)");
  app.add_option("--in-process-s", o.in_process_s, "Shortest in-process measurement")->capture_default_str();
  app.add_option("--in-process-calls", o.in_process_min_calls, "Fewest timed in-process calls")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "In-process Predictor batch (match the server's --max-batch)")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "torch intra-op threads here (0: OMP_NUM_THREADS or torch's default)")
      ->capture_default_str();
  app.add_option("--device", o.device, "Device of the in-process reference (cpu, cuda)")->capture_default_str();
  app.add_option("--precision", o.precision, "Precision of the in-process reference")->capture_default_str();
  app.add_flag("--synthetic-weights", o.synthetic_weights,
               "In-process reference on synthetic weights (as crepe-server --synthetic-weights)");
  app.add_option("--models-dir", o.models_dir, "Folder of <capacity>.h5 (default $CREPE_MODELS_DIR or models/)");
  app.add_option("--json", o.json, "Write the results as JSON here");
  app.add_flag("!--no-header", o.header, "Print no markdown table header");
  CLI11_PARSE(app, argc, argv);
  if (o.server.empty() && !o.in_process) {
    std::fprintf(stderr, "crepe-loadgen: nothing to do: give --server and/or --in-process\n");
    return 2;
  }
  const crepe::Status s = crepe::loadgen::Run(o);
  if (!s.ok()) {
    std::fprintf(stderr, "crepe-loadgen: error: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
