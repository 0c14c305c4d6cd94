// crepe-bench: throughput of the CREPE network alone and of the whole pipeline (Predictor::Predict),
// per capacity and device, with the achieved GFLOP/s from an analytic FLOP count of the
// architecture. Not a test: it prints a table and, with --json, a machine-readable record that
// bench/run_bench.sh sets beside torchcrepe's (bench/torchcrepe_bench.py).
//
// Repetition rule (the same in torchcrepe_bench.py): one untimed warm-up call, then timed calls
// until at least --iterations calls and --seconds seconds have passed (at most --max-iterations);
// the median call is reported, the best beside it.
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_json.h"
#include "cpu_probe.h"
#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "crepe/file_io.h"
#include "crepe/frames.h"
#include "crepe/model.h"
#include "crepe/predictor.h"

namespace crepe::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string audio = CREPE_SOURCE_DIR "/assets/examples/sung-vowel.wav";
  int repeat = 1;
  std::vector<std::string> models = {"tiny", "small", "medium", "large", "full"};
  std::vector<std::string> devices = {"cpu"};
  std::vector<std::string> decoders = {"weighted_argmax"};
  std::string models_dir;
  double min_seconds = 2.0;
  int min_iterations = 5;
  int max_iterations = 200;
  int threads = 0;
  int64_t batch = 256;
  int64_t net_frames = 256;
  double fmin_hz = 50.0;  // torchcrepe.predict's defaults, so both decoders search the same bins
  double fmax_hz = 2006.0;
  bool skip_network = false;
  bool skip_e2e = false;
  bool cpu_probe = false;
  std::string json;
  std::string dump_frames;
};

// ---------------------------------------------------------------------------------------------
// FLOPs

struct LayerFlops {
  int cin, cout, kernel, stride, length_out;
  double flops;
};

// Multiply-adds of the convolutions (output length with 'same' padding, before the max-pool) and
// of the dense layer, counted as 2 FLOPs each. Bias, ReLU, batch norm, pooling and the sigmoid
// are left out (well under 1% of the total).
std::vector<LayerFlops> FlopsPerFrame(Capacity c) {
  const Architecture a = ArchitectureOf(c);
  std::vector<LayerFlops> layers;
  int length = kFrameLength;
  int cin = 1;
  for (int l = 0; l < kNumConvLayers; ++l) {
    const int out = (length + a.stride[l] - 1) / a.stride[l];
    layers.push_back({cin, a.filters[l], a.kernel[l], a.stride[l], out,
                      2.0 * a.kernel[l] * cin * a.filters[l] * static_cast<double>(out)});
    cin = a.filters[l];
    length = out / 2;
  }
  layers.push_back({a.dense_inputs, kPitchBins, 1, 1, 1, 2.0 * a.dense_inputs * kPitchBins});
  return layers;
}

double GflopPerFrame(Capacity c) {
  double total = 0;
  for (const LayerFlops& l : FlopsPerFrame(c)) total += l.flops;
  return total / 1e9;
}

void PrintFlopTable(const std::vector<Capacity>& capacities) {
  std::printf(
      "FLOPs per frame (2 x multiply-adds of conv1..conv6 at their 'same' output length, and the dense layer):\n");
  std::printf("  %-7s", "model");
  for (int l = 1; l <= kNumConvLayers; ++l) std::printf("  conv%d MFLOP", l);
  std::printf("  dense MFLOP  total GFLOP\n");
  for (Capacity c : capacities) {
    std::printf("  %-7s", std::string(CapacityName(c)).c_str());
    for (const LayerFlops& l : FlopsPerFrame(c)) std::printf("  %11.2f", l.flops / 1e6);
    std::printf("  %11.4f\n", GflopPerFrame(c));
  }
  const auto full = FlopsPerFrame(Capacity::kFull);
  std::printf("  (full conv1: 2 x %d x %d x %d x %d; conv2: 2 x %d x %d x %d x %d)\n\n", full[0].kernel, full[0].cin,
              full[0].cout, full[0].length_out, full[1].kernel, full[1].cin, full[1].cout, full[1].length_out);
}

// ---------------------------------------------------------------------------------------------
// Timing

struct Timing {
  double warmup_s = 0;
  std::vector<double> seconds;
  double median() const {
    std::vector<double> s = seconds;
    std::sort(s.begin(), s.end());
    const size_t n = s.size();
    return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  }
  double best() const { return *std::min_element(seconds.begin(), seconds.end()); }
};

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

Result<Timing> Measure(const Options& o, const std::function<Status()>& body) {
  Timing t;
  auto start = Clock::now();
  CREPE_RETURN_IF_ERROR(body());
  t.warmup_s = Since(start);
  double total = 0;
  while (static_cast<int>(t.seconds.size()) < o.min_iterations ||
         (total < o.min_seconds && static_cast<int>(t.seconds.size()) < o.max_iterations)) {
    start = Clock::now();
    CREPE_RETURN_IF_ERROR(body());
    t.seconds.push_back(Since(start));
    total += t.seconds.back();
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Inputs

struct Inputs {
  AudioBuffer audio;  // the file, tiled --repeat times
  double audio_seconds = 0;
  std::vector<float> net_frames;  // --net-frames normalised frames, n x 1024
  int64_t clip_frames = 0;        // frames the pipeline makes of the (tiled) audio
};

Result<Inputs> PrepareInputs(const Options& o) {
  Inputs in;
  CREPE_ASSIGN_OR_RETURN(AudioBuffer file, ReadAudioFile(o.audio));
  in.audio.sample_rate = file.sample_rate;
  in.audio.channels = file.channels;
  in.audio.samples.reserve(file.samples.size() * static_cast<size_t>(o.repeat));
  for (int r = 0; r < o.repeat; ++r)
    in.audio.samples.insert(in.audio.samples.end(), file.samples.begin(), file.samples.end());
  in.audio_seconds = static_cast<double>(in.audio.frames()) / in.audio.sample_rate;

  // The frames the pipeline itself would make: mono, 16 kHz (kaiser_best), 10 ms hop, centred.
  const std::vector<float> mono = in.audio.channels == 1
                                      ? in.audio.samples
                                      : MixToMono(in.audio.samples.data(), in.audio.frames(), in.audio.channels);
  CREPE_ASSIGN_OR_RETURN(std::vector<float> audio16k,
                         ResampleTo16k(mono, in.audio.sample_rate, ResamplerKind::kKaiserBest));
  CREPE_ASSIGN_OR_RETURN(FrameGrid grid, FrameGrid::Make(static_cast<int64_t>(audio16k.size()), in.audio.sample_rate,
                                                         HopSpec::Milliseconds(10), /*center=*/true));
  in.clip_frames = grid.size();
  if (in.clip_frames < 1) return InvalidArgumentError(o.audio + ": too short for a single frame");
  in.net_frames.resize(static_cast<size_t>(o.net_frames) * kFrameLength);
  for (int64_t i = 0; i < o.net_frames; ++i) {  // cycles through the clip if it has fewer frames
    float* frame = in.net_frames.data() + i * kFrameLength;
    ExtractFrame(audio16k.data(), grid.num_samples_16k(), grid.Start(i % in.clip_frames), frame);
    NormaliseFrame(frame);
  }
  return in;
}

// ---------------------------------------------------------------------------------------------
// Results

struct Row {
  std::string kind;  // "network" | "e2e"
  std::string capacity;
  std::string device;
  std::string decoder;  // e2e only
  bool skipped = false;
  std::string note;
  int64_t frames = 0;
  double gflop_per_frame = 0;
  double audio_seconds = 0;
  Timing timing;
  double fps(double s) const { return frames / s; }
};

Row MakeRow(std::string kind, std::string capacity, std::string device, std::string decoder = "") {
  Row r;
  r.kind = std::move(kind);
  r.capacity = std::move(capacity);
  r.device = std::move(device);
  r.decoder = std::move(decoder);
  return r;
}

std::string ToJson(const Options& o, const Inputs& in, const CpuProbe* cpu, const std::vector<Row>& rows) {
  std::ostringstream j;
  const char* omp = std::getenv("OMP_NUM_THREADS");
  j << "{\n  \"tool\": \"crepe-bench\",\n";
  j << "  \"torch_version\": \"" << TORCH_VERSION << "\",\n";
  j << "  \"torch_threads\": " << at::get_num_threads() << ",\n";
  j << "  \"omp_num_threads_env\": " << (omp ? "\"" + JsonEscape(omp) + "\"" : "null") << ",\n";
  j << "  \"audio\": \"" << JsonEscape(o.audio) << "\",\n";
  j << "  \"repeat\": " << o.repeat << ",\n";
  j << "  \"audio_seconds\": " << Num(in.audio_seconds) << ",\n";
  j << "  \"batch\": " << o.batch << ",\n";
  j << "  \"fmin_hz\": " << Num(o.fmin_hz) << ",\n  \"fmax_hz\": " << Num(o.fmax_hz) << ",\n";
  j << "  \"rule\": {\"min_iterations\": " << o.min_iterations << ", \"min_seconds\": " << Num(o.min_seconds)
    << ", \"max_iterations\": " << o.max_iterations << ", \"warmup_calls\": 1, \"reported\": \"median\"},\n";
  if (cpu != nullptr) {
    j << "  \"cpu\": {\"model_name\": \"" << JsonEscape(cpu->model_name)
      << "\", \"nominal_mhz\": " << Num(cpu->nominal_mhz) << ", \"threads\": " << cpu->threads
      << ", \"clock_ghz\": " << Num(cpu->clock_ghz) << ", \"isa\": \"" << cpu->isa
      << "\", \"flops_per_cycle_assumed\": " << cpu->flops_per_cycle_assumed
      << ", \"fma_gflops_1\": " << Num(cpu->fma_gflops_1) << ", \"fma_gflops_n\": " << Num(cpu->fma_gflops_n)
      << ", \"peak_gflops\": " << Num(cpu->peak_gflops) << "},\n";
  }
  j << "  \"results\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    j << (i ? ",\n    " : "\n    ") << "{\"kind\": \"" << r.kind << "\", \"capacity\": \"" << r.capacity
      << "\", \"device\": \"" << JsonEscape(r.device) << "\"";
    if (!r.decoder.empty()) j << ", \"decoder\": \"" << r.decoder << "\"";
    if (r.skipped) {
      j << ", \"skipped\": true, \"note\": \"" << JsonEscape(r.note) << "\"}";
      continue;
    }
    const double med = r.timing.median(), best = r.timing.best();
    j << ", \"frames\": " << r.frames << ", \"gflop_per_frame\": " << Num(r.gflop_per_frame)
      << ", \"iterations\": " << r.timing.seconds.size() << ", \"warmup_s\": " << Num(r.timing.warmup_s)
      << ", \"median_s\": " << Num(med) << ", \"best_s\": " << Num(best) << ", \"fps_median\": " << Num(r.fps(med))
      << ", \"fps_best\": " << Num(r.fps(best)) << ", \"gflops_median\": " << Num(r.fps(med) * r.gflop_per_frame);
    if (r.kind == "e2e") {
      j << ", \"audio_seconds\": " << Num(r.audio_seconds) << ", \"xrt_median\": " << Num(r.audio_seconds / med);
    }
    j << "}";
  }
  j << "\n  ]\n}\n";
  return j.str();
}

void PrintRowHeader() {
  std::printf("%-8s %-7s %-7s %-16s %7s %5s %9s %9s %11s %11s %8s %8s\n", "kind", "model", "device", "decoder",
              "frames", "iters", "median_s", "best_s", "fps_median", "fps_best", "GFLOP/s", "x_rt");
}

void PrintRow(const Row& r) {
  if (r.skipped) {
    std::printf("%-8s %-7s %-7s %-16s skipped: %s\n", r.kind.c_str(), r.capacity.c_str(), r.device.c_str(),
                r.decoder.empty() ? "-" : r.decoder.c_str(), r.note.c_str());
    return;
  }
  const double med = r.timing.median(), best = r.timing.best();
  char xrt[32] = "-";
  if (r.kind == "e2e") std::snprintf(xrt, sizeof xrt, "%.1f", r.audio_seconds / med);
  std::printf("%-8s %-7s %-7s %-16s %7lld %5zu %9.4f %9.4f %11.1f %11.1f %8.1f %8s\n", r.kind.c_str(),
              r.capacity.c_str(), r.device.c_str(), r.decoder.empty() ? "-" : r.decoder.c_str(),
              static_cast<long long>(r.frames), r.timing.seconds.size(), med, best, r.fps(med), r.fps(best),
              r.fps(med) * r.gflop_per_frame, xrt);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------

Status Run(const Options& o) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  std::vector<Capacity> capacities;
  for (const std::string& m : o.models) {
    CREPE_ASSIGN_OR_RETURN(Capacity c, ParseCapacity(m));
    capacities.push_back(c);
  }
  std::vector<Decoder> decoders;
  for (const std::string& d : o.decoders) {
    CREPE_ASSIGN_OR_RETURN(Decoder dec, ParseDecoder(d));
    decoders.push_back(dec);
  }
  const char* omp = std::getenv("OMP_NUM_THREADS");
  std::printf("crepe-bench: LibTorch %s, torch intra-op threads %d (OMP_NUM_THREADS=%s), hardware threads %u\n",
              TORCH_VERSION, at::get_num_threads(), omp ? omp : "unset", std::thread::hardware_concurrency());

  std::optional<CpuProbe> cpu;
  if (o.cpu_probe) {
    cpu = ProbeCpu(o.threads > 0 ? o.threads : at::get_num_threads());
    std::printf("cpu: %s; /proc/cpuinfo MHz %.0f; measured clock %.2f GHz (dependent-add chain, %d threads at once)\n",
                cpu->model_name.c_str(), cpu->nominal_mhz, cpu->clock_ghz, cpu->threads);
    std::printf(
        "cpu: %s register-only FMA loop: %.1f GFLOP/s on 1 thread (= %.2f GHz x %d FLOP/cycle), %.1f GFLOP/s on %d\n",
        cpu->isa.c_str(), cpu->fma_gflops_1, cpu->fma_gflops_1 / std::max(1, cpu->flops_per_cycle_assumed),
        cpu->flops_per_cycle_assumed, cpu->fma_gflops_n, cpu->threads);
    std::printf("cpu: theoretical peak %d x %.2f GHz x %d FLOP/cycle (2 FMA units x 16 floats x 2) = %.1f GFLOP/s\n\n",
                cpu->threads, cpu->clock_ghz, cpu->flops_per_cycle_assumed, cpu->peak_gflops);
  }
  PrintFlopTable(capacities);

  CREPE_ASSIGN_OR_RETURN(Inputs in, PrepareInputs(o));
  std::printf("audio: %s x %d = %.2f s at %d Hz, %d channel(s): %lld frames at 10 ms; network-only: %lld frames\n",
              o.audio.c_str(), o.repeat, in.audio_seconds, in.audio.sample_rate, in.audio.channels,
              static_cast<long long>(in.clip_frames), static_cast<long long>(o.net_frames));
  std::printf("rule: 1 warm-up call, then >= %d calls and >= %.1f s (at most %d calls); median reported\n\n",
              o.min_iterations, o.min_seconds, o.max_iterations);
  if (!o.dump_frames.empty()) {
    CREPE_RETURN_IF_ERROR(
        WriteFileAtomically(o.dump_frames, EncodeNpy(in.net_frames.data(), {o.net_frames, kFrameLength})));
  }

  std::string models_dir = o.models_dir;
  if (models_dir.empty()) {
    const char* env = std::getenv("CREPE_MODELS_DIR");
    models_dir = env != nullptr ? env : CREPE_DEFAULT_MODELS_DIR;
  }

  std::vector<Row> rows;
  PrintRowHeader();
  for (const std::string& device : o.devices) {
    for (Capacity c : capacities) {
      const std::string name(CapacityName(c));
      if (device.rfind("cuda", 0) == 0 && !CudaAvailable()) {
        Row r = MakeRow("network", name, device);
        r.skipped = true;
        r.note = "no CUDA device available to this process";
        PrintRow(r);
        rows.push_back(r);
        continue;
      }
      if (o.skip_network && o.skip_e2e) continue;
      CREPE_ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                             Model::Load(models_dir + "/" + name + ".h5", c, ModelOptions{device}));
      if (!o.skip_network) {
        Row r = MakeRow("network", name, device);
        r.frames = o.net_frames;
        r.gflop_per_frame = GflopPerFrame(c);
        std::vector<float> activations(static_cast<size_t>(o.net_frames) * kPitchBins);
        CREPE_ASSIGN_OR_RETURN(
            r.timing, Measure(o, [&] { return model->Infer(in.net_frames.data(), o.net_frames, activations.data()); }));
        PrintRow(r);
        rows.push_back(r);
      }
      if (!o.skip_e2e) {
        Predictor predictor(*model);
        for (Decoder d : decoders) {
          PredictOptions po;
          po.decoder = d;
          po.batch_frames = o.batch;
          po.fmin_hz = o.fmin_hz;
          po.fmax_hz = o.fmax_hz;
          Row r = MakeRow("e2e", name, device, std::string(DecoderName(d)));
          r.gflop_per_frame = GflopPerFrame(c);
          r.audio_seconds = in.audio_seconds;
          int64_t frames = 0;
          CREPE_ASSIGN_OR_RETURN(r.timing, Measure(o, [&]() -> Status {
                                   CREPE_ASSIGN_OR_RETURN(Prediction p, predictor.Predict(in.audio, po));
                                   frames = p.frames();
                                   return Status::Ok();
                                 }));
          r.frames = frames;
          PrintRow(r);
          rows.push_back(r);
        }
      }
    }
  }
  if (!o.json.empty()) {
    CREPE_RETURN_IF_ERROR(WriteFileAtomically(o.json, ToJson(o, in, cpu ? &*cpu : nullptr, rows)));
    std::printf("\nwrote %s\n", o.json.c_str());
  }
  return Status::Ok();
}

}  // namespace
}  // namespace crepe::bench

int main(int argc, char** argv) {
  using crepe::bench::Options;
  Options o;
  CLI::App app{"crepe-bench: network-only and end-to-end throughput of the CREPE models"};
  app.add_option("--audio", o.audio, "Audio file for the frames and the end-to-end runs")->capture_default_str();
  app.add_option("--repeat", o.repeat, "Tile the audio this many times (steadier end-to-end numbers)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--models", o.models, "Capacities (tiny small medium large full)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--models-dir", o.models_dir, "Folder of <capacity>.h5 (default $CREPE_MODELS_DIR or models/)");
  app.add_option("--device", o.devices, "cpu, cuda or cuda:N (several allowed); CUDA is skipped where absent")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--decoder", o.decoders, "End-to-end decoders: argmax, weighted_argmax, viterbi")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--seconds", o.min_seconds, "Minimum timed seconds per measurement")->capture_default_str();
  app.add_option("--iterations", o.min_iterations, "Minimum timed calls per measurement")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--max-iterations", o.max_iterations, "Maximum timed calls per measurement")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "torch intra-op threads (at::set_num_threads); 0 = torch's default")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "Predictor batch (PredictOptions::batch_frames)")->capture_default_str();
  app.add_option("--net-frames", o.net_frames, "Frames per network-only call (cycled from the clip)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  app.add_option("--fmin", o.fmin_hz, "Decoder's lowest frequency, Hz (torchcrepe.predict's default)")
      ->capture_default_str();
  app.add_option("--fmax", o.fmax_hz, "Decoder's highest frequency, Hz (torchcrepe.predict's default)")
      ->capture_default_str();
  app.add_flag("--skip-network", o.skip_network, "No network-only measurement");
  app.add_flag("--skip-e2e", o.skip_e2e, "No end-to-end measurement");
  app.add_flag("--cpu-probe", o.cpu_probe, "Measure the core clock and the FMA peak first (about a second)");
  app.add_option("--json", o.json, "Write the results as JSON here");
  app.add_option("--dump-frames", o.dump_frames, "Write the network-only frames (float32 N x 1024 .npy) here");
  CLI11_PARSE(app, argc, argv);
  if (o.max_iterations < o.min_iterations) o.max_iterations = o.min_iterations;
  const crepe::Status s = crepe::bench::Run(o);
  if (!s.ok()) {
    std::fprintf(stderr, "crepe-bench: error: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
