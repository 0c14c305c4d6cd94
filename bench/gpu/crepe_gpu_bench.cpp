// crepe-gpu-bench: the device measurements of bench/gpu/run.sh, in one process. Not a test.
// Sections (--sections, comma-separated; all by default):
//   memory      all five capacities resident at once: weights and the allocator's bytes
//   parity      device fp32 against the CPU fp32 on the same weights and frames (activations and
//               embeddings), and each reduced precision's error against that CPU reference
//   throughput  network only (frames already on the device): capacity x pass size x precision,
//               and CUDA graphs off for the default pass size
//   e2e         whole clips through Model::PredictClips (upload audio, cut, network, Viterbi on
//               the device, results back) against network only
//   viterbi     batched device Viterbi against the CPU decoder, in state-steps per second: whole
//               sequences (PredictClips' way), and streamed in parts of --viterbi-part frames per
//               batch, every sequence a call (crepe-server's way, ViterbiStreams)
//   concurrency the five models driven from five threads at once against one at a time
// Weights: models-dir/<capacity>.h5 where present (official files), else deterministic synthetic
// weights (speed does not depend on their values; parity compares CPU and device on the same
// ones). Every record goes to --json (one object per line); a summary goes to stdout.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "crepe/file_io.h"
#include "crepe/frames.h"
#include "crepe/model.h"
#include "crepe/weights.h"
#include "model/device_decode.h"
#include "model/viterbi_streams.h"

namespace {

using namespace crepe;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string device = "cuda";
  std::string models_dir;
  std::string frames_npy;
  std::string json;
  std::vector<std::string> sections = {"memory", "parity", "throughput", "e2e", "viterbi", "concurrency"};
  std::vector<std::string> capacities = {"tiny", "small", "medium", "large", "full"};
  std::vector<std::string> precisions = {"fp32", "tf32", "bf16", "fp16"};
  std::vector<int64_t> pass_sizes = {256, 1024, 4096};
  double point_s = 0.5;      // time per throughput point
  int e2e_clips = 64;        // clips per PredictClips call
  double e2e_seconds = 10;   // length of each
  int viterbi_batch = 256;   // sequences
  int viterbi_steps = 1000;  // frames per sequence
  int viterbi_part = 64;     // frames per sequence per batch, streamed
  int parity_frames = 1024;
};

std::ofstream json_out;

void Record(const std::string& object) {
  if (json_out.is_open()) json_out << object << "\n" << std::flush;
}

std::string Fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Fmt(const char* format, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  return buffer;
}

// A JSON number: non-finite values (a NaN from a broken precision) become null, not "nan".
std::string Num(double v) { return std::isfinite(v) ? Fmt("%.6g", v) : "null"; }

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// The weights a capacity is measured with, and what they are.
struct Weights {
  CrepeWeights weights;
  std::string source;  // "official" or "synthetic"
};

Weights WeightsFor(const Options& o, Capacity c) {
  const std::string path = o.models_dir + "/" + std::string(CapacityName(c)) + ".h5";
  if (!o.models_dir.empty() && std::filesystem::exists(path)) {
    auto w = LoadKerasWeights(path, c);
    if (w.ok()) return {std::move(w).value(), "official"};
    std::fprintf(stderr, "crepe-gpu-bench: %s: %s; using synthetic weights\n", path.c_str(),
                 w.status().ToString().c_str());
  }
  return {MakeSyntheticWeights(c, 1), "synthetic"};
}

std::unique_ptr<Model> Make(const CrepeWeights& w, const std::string& device, Precision p, int64_t pass,
                            bool graphs = true, ConvLayout layout = ConvLayout::kAuto) {
  ModelOptions options;
  options.device = device;
  options.layout = layout;
  options.precision = p;
  options.pass_frames = pass;
  options.cuda_graphs = graphs;
  auto m = Model::Create(w, options);
  if (!m.ok()) {
    std::fprintf(stderr, "crepe-gpu-bench: %s %s on %s: %s\n", CapacityName(w.capacity).data(), PrecisionName(p).data(),
                 device.c_str(), m.status().ToString().c_str());
    return nullptr;
  }
  return std::move(m).value();
}

// A 16 kHz test clip: a sung-like glide with vibrato and noise (not zeros, not periodic forever).
std::vector<float> TestClip(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::vector<float> x(static_cast<size_t>(n));
  double phase = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / kSampleRate;
    const double f = 180.0 * std::pow(2.0, std::sin(0.5 * t) + 0.02 * std::sin(2 * M_PI * 5.5 * t));
    phase += 2 * M_PI * f / kSampleRate;
    x[static_cast<size_t>(i)] = static_cast<float>(0.4 * std::sin(phase) + 0.1 * std::sin(2 * phase) + noise(rng));
  }
  return x;
}

// Normalised frames: from --frames (the reference frames) when given, else cut from TestClip.
std::vector<float> ParityFrames(const Options& o, int64_t* n) {
  if (!o.frames_npy.empty()) {
    auto a = ReadNpy(o.frames_npy);
    if (a.ok() && a->data.size() % kFrameLength == 0) {
      *n = std::min<int64_t>(o.parity_frames, static_cast<int64_t>(a->data.size()) / kFrameLength);
      return std::vector<float>(a->data.begin(), a->data.begin() + *n * kFrameLength);
    }
    std::fprintf(stderr, "crepe-gpu-bench: %s unreadable; using a synthetic clip\n", o.frames_npy.c_str());
  }
  *n = o.parity_frames;
  const std::vector<float> clip = TestClip(*n * 160 + 1024, 11);
  std::vector<float> frames(static_cast<size_t>(*n) * kFrameLength);
  for (int64_t t = 0; t < *n; ++t) {
    ExtractFrame(clip.data(), static_cast<int64_t>(clip.size()), t * 160, &frames[t * kFrameLength]);
    NormaliseFrame(&frames[t * kFrameLength]);
  }
  return frames;
}

struct Diff {
  double max = 0, mean = 0, rel_l2 = 0;
};
Diff Compare(const std::vector<float>& got, const std::vector<float>& ref) {
  Diff d;
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - ref[i]);
    if (!(e <= d.max)) d.max = e;  // NaN propagates
    d.mean += e;
    num += e * e;
    den += static_cast<double>(ref[i]) * ref[i];
  }
  d.mean /= std::max<size_t>(1, got.size());
  d.rel_l2 = den > 0 ? std::sqrt(num / den) : 0;
  return d;
}

// ------------------------------------------------------------------------------------------------

void Memory(const Options& o) {
  std::vector<std::unique_ptr<Model>> models;
  int64_t weights = 0;
  for (const std::string& name : o.capacities) {
    const Capacity c = *ParseCapacity(name);
    auto m = Make(WeightsFor(o, c).weights, o.device, Precision::kFp32, 0);
    if (!m) continue;
    weights += m->info().resident_bytes;
    models.push_back(std::move(m));
  }
  // One pass of each so that every model's buffers exist, as in a serving process.
  for (auto& m : models) (void)m->TimeResidentPasses(1);
  const DeviceMemory mem = DeviceMemoryInUse(o.device);
  std::printf("memory: %zu models resident on %s: weights %.1f MiB; allocator %.1f MiB allocated, %.1f MiB reserved\n",
              models.size(), o.device.c_str(), weights / 1048576.0, mem.allocated_bytes / 1048576.0,
              mem.reserved_bytes / 1048576.0);
  Record(Fmt(
      R"({"section":"memory","device":"%s","models":%zu,"weights_bytes":%lld,"allocated_bytes":%lld,"reserved_bytes":%lld})",
      o.device.c_str(), models.size(), static_cast<long long>(weights), static_cast<long long>(mem.allocated_bytes),
      static_cast<long long>(mem.reserved_bytes)));
}

void Parity(const Options& o) {
  int64_t n = 0;
  const std::vector<float> frames = ParityFrames(o, &n);
  for (const std::string& name : o.capacities) {
    const Capacity c = *ParseCapacity(name);
    const Weights w = WeightsFor(o, c);
    auto cpu = Make(w.weights, "cpu", Precision::kFp32, 0);
    if (!cpu) continue;
    const int width = cpu->info().embedding_width;
    std::vector<float> act_ref(static_cast<size_t>(n) * kPitchBins),
        emb_ref(static_cast<size_t>(n) * kEmbeddingRows * width);
    if (!cpu->Infer(frames.data(), n, act_ref.data(), emb_ref.data()).ok()) continue;
    const DecodedPitch pitch_ref = *DecodeActivations(act_ref.data(), n, Decoder::kWeightedArgmax, BinRange{});
    for (const std::string& pname : o.precisions) {
      const Precision p = *ParsePrecision(pname);
      auto dev = Make(w.weights, o.device, p, 0);
      if (!dev) continue;
      std::vector<float> act(act_ref.size(), NAN), emb(emb_ref.size(), NAN);  // poisoned: every value must be written
      const Status s = dev->Infer(frames.data(), n, act.data(), emb.data());
      if (!s.ok()) {
        std::fprintf(stderr, "crepe-gpu-bench: parity %s %s: %s\n", name.c_str(), pname.c_str(), s.ToString().c_str());
        continue;
      }
      const Diff da = Compare(act, act_ref), de = Compare(emb, emb_ref);
      const DecodedPitch pitch = *DecodeActivations(act.data(), n, Decoder::kWeightedArgmax, BinRange{});
      int same_bin = 0;
      double cents = 0;
      int voiced = 0;
      for (int64_t t = 0; t < n; ++t) {
        same_bin += pitch.bins[t] == pitch_ref.bins[t];
        if (std::isfinite(pitch.frequency[t]) && std::isfinite(pitch_ref.frequency[t]) &&
            pitch_ref.confidence[t] > 0.5f) {
          cents += std::abs(HzToCents(pitch.frequency[t]) - HzToCents(pitch_ref.frequency[t]));
          ++voiced;
        }
      }
      const bool pass = p != Precision::kFp32 || (da.max < 1e-5 && da.mean < 1e-7);  // false on NaN too
      std::printf(
          "parity: %-6s %-9s %-4s vs cpu fp32: activations max %.3g mean %.3g rel %.3g; embeddings max %.3g; "
          "same bin %.2f%%; |cents| %.3f (confident frames)%s\n",
          name.c_str(), w.source.c_str(), pname.c_str(), da.max, da.mean, da.rel_l2, de.max,
          100.0 * same_bin / static_cast<double>(n), voiced ? cents / voiced : 0.0,
          p == Precision::kFp32 ? (pass ? "  PASS" : "  FAIL (fp32 needs max < 1e-5, mean < 1e-7)") : "");
      Record(Fmt(
          R"({"section":"parity","capacity":"%s","weights":"%s","precision":"%s","device":"%s","frames":%lld,"act_max":%s,"act_mean":%s,"act_rel_l2":%s,"emb_max":%s,"emb_mean":%s,"same_bin":%.6f,"mean_abs_cents":%s,"pass":%s})",
          name.c_str(), w.source.c_str(), pname.c_str(), o.device.c_str(), static_cast<long long>(n),
          Num(da.max).c_str(), Num(da.mean).c_str(), Num(da.rel_l2).c_str(), Num(de.max).c_str(), Num(de.mean).c_str(),
          same_bin / static_cast<double>(n), Num(voiced ? cents / voiced : 0.0).c_str(), pass ? "true" : "false"));
    }
  }
}

double FramesPerSecond(Model& m, double point_s) {
  auto probe = m.TimeResidentPasses(2);
  if (!probe.ok()) return -1;
  const auto passes = static_cast<int64_t>(std::clamp(point_s / std::max(*probe / 2, 1e-6), 3.0, 100000.0));
  auto t = m.TimeResidentPasses(passes);
  return t.ok() ? static_cast<double>(passes * m.info().micro_batch) / *t : -1;
}

void Throughput(const Options& o) {
  for (const std::string& name : o.capacities) {
    const Capacity c = *ParseCapacity(name);
    const Weights w = WeightsFor(o, c);
    for (const std::string& pname : o.precisions) {
      for (int64_t pass : o.pass_sizes) {
        // Besides the default (graphs on, the layout kAuto picks): at pass 1024 in fp32 and bf16,
        // graphs off (what graphs are worth) and the other layout (what the layout choice is worth).
        for (int variant = 0; variant < 3; ++variant) {
          const bool graphs = variant != 1;
          const bool other_layout = variant == 2;
          if (variant > 0 && (pass != 1024 || (pname != "fp32" && pname != "bf16") || o.device == "cpu")) continue;
          ConvLayout layout = ConvLayout::kAuto;
          if (other_layout) {
            const bool auto_last = pname == "bf16";  // kAuto on CUDA: channels-last for bf16/fp16
            layout = auto_last ? ConvLayout::kChannelsFirst : ConvLayout::kChannelsLast;
          }
          auto m = Make(w.weights, o.device, *ParsePrecision(pname), pass, graphs, layout);
          if (!m) continue;
          const double fps = FramesPerSecond(*m, o.point_s);
          std::printf("throughput: %-6s %-4s pass %5lld graphs %-3s %-14s: %12.0f frames/s network only\n",
                      name.c_str(), pname.c_str(), static_cast<long long>(pass), m->info().cuda_graphs ? "on" : "off",
                      ConvLayoutName(m->info().layout).data(), fps);
          Record(Fmt(
              R"({"section":"throughput","capacity":"%s","precision":"%s","pass":%lld,"graphs":%s,"device":"%s","layout":"%s","default_layout":%s,"fps":%.1f})",
              name.c_str(), pname.c_str(), static_cast<long long>(pass), m->info().cuda_graphs ? "true" : "false",
              o.device.c_str(), ConvLayoutName(m->info().layout).data(), other_layout ? "false" : "true", fps));
        }
      }
    }
  }
}

void EndToEnd(const Options& o) {
  const auto clip_samples = static_cast<int64_t>(o.e2e_seconds * kSampleRate);
  std::vector<std::vector<float>> audio;
  for (int k = 0; k < o.e2e_clips; ++k) audio.push_back(TestClip(clip_samples, 100 + static_cast<uint64_t>(k)));
  const FrameGrid grid = *FrameGrid::Make(clip_samples, kSampleRate, HopSpec::Milliseconds(10), true);
  for (const std::string& name : o.capacities) {
    const Capacity c = *ParseCapacity(name);
    const Weights w = WeightsFor(o, c);
    for (const std::string& pname : {std::string("fp32"), std::string("bf16")}) {
      if (std::find(o.precisions.begin(), o.precisions.end(), pname) == o.precisions.end()) continue;
      auto m = Make(w.weights, o.device, *ParsePrecision(pname), 0);
      if (!m) continue;
      for (Decoder d : {Decoder::kViterbi, Decoder::kWeightedArgmax}) {
        std::vector<ClipRequest> clips;
        for (const auto& a : audio) clips.push_back({a.data(), clip_samples, &grid, d, BinRange{}, false, false});
        std::vector<ClipResult> results;
        if (!m->PredictClips(clips, &results).ok()) continue;  // warm-up
        int calls = 0;
        const auto start = Clock::now();
        while (calls < 2 || Seconds(start) < o.point_s) {
          const Status s = m->PredictClips(clips, &results);
          if (!s.ok()) {
            std::fprintf(stderr, "crepe-gpu-bench: e2e: %s\n", s.ToString().c_str());
            break;
          }
          ++calls;
        }
        const double fps = static_cast<double>(calls) * o.e2e_clips * grid.size() / Seconds(start);
        std::printf("e2e: %-6s %-4s %-15s %d clips of %.0f s per call: %12.0f frames/s\n", name.c_str(), pname.c_str(),
                    DecoderName(d).data(), o.e2e_clips, o.e2e_seconds, fps);
        Record(Fmt(
            R"({"section":"e2e","capacity":"%s","precision":"%s","decoder":"%s","device":"%s","clips":%d,"pass":%lld,"fps":%.1f})",
            name.c_str(), pname.c_str(), DecoderName(d).data(), o.device.c_str(), o.e2e_clips,
            static_cast<long long>(m->info().micro_batch), fps));
      }
    }
  }
}

void Viterbi(const Options& o) {
  // A wandering pitch track with jumps: observations a real decoder sees.
  std::mt19937_64 rng(5);
  const int64_t batch = o.viterbi_batch, steps = o.viterbi_steps;
  std::vector<int64_t> obs(static_cast<size_t>(batch * steps));
  for (int64_t b = 0; b < batch; ++b) {
    int bin = 100 + static_cast<int>(rng() % 150);
    for (int64_t t = 0; t < steps; ++t) {
      bin = std::clamp(bin + static_cast<int>(rng() % 7) - 3, 0, kPitchBins - 1);
      obs[b * steps + t] = (rng() % 20 == 0) ? static_cast<int64_t>(rng() % kPitchBins) : bin;
    }
  }
  // CPU: the streaming decoder, one sequence after another, one thread.
  auto start = Clock::now();
  int64_t cpu_sequences = 0;
  std::vector<std::vector<int>> cpu_paths;
  while (cpu_sequences < 4 || (Seconds(start) < o.point_s && cpu_sequences < batch)) {
    auto v = ViterbiDecoder::Make(BinRange{});
    for (int64_t t = 0; t < steps; ++t) (void)v->Push(static_cast<int>(obs[cpu_sequences * steps + t]));
    cpu_paths.push_back(*v->Finish());
    ++cpu_sequences;
  }
  const double cpu_rate = static_cast<double>(cpu_sequences) * steps * kPitchBins / Seconds(start);
  // Device: all sequences at once.
  const torch::Device device(o.device);
  const torch::Tensor observed = torch::tensor(obs, torch::kInt64).reshape({batch, steps}).to(device);
  const ViterbiEmission e = ViterbiEmissionFor(false, 1.0f);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  const torch::Tensor hit = torch::full({batch, steps}, e.hit, f64), miss = torch::full({batch, steps}, e.miss, f64);
  const std::vector<int64_t> lengths(static_cast<size_t>(batch), steps);
  torch::Tensor paths = ViterbiPaths(observed, hit, miss, lengths, BinRange{}).to(torch::kCPU);  // warm-up
  int runs = 0;
  start = Clock::now();
  while (runs < 2 || Seconds(start) < o.point_s) {
    paths = ViterbiPaths(observed, hit, miss, lengths, BinRange{}).to(torch::kCPU);  // .to(cpu) waits for the device
    ++runs;
  }
  const double device_rate = static_cast<double>(runs) * batch * steps * kPitchBins / Seconds(start);
  int64_t mismatches = 0;
  for (int64_t b = 0; b < cpu_sequences; ++b) {
    for (int64_t t = 0; t < steps; ++t) mismatches += paths[b][t].item<int64_t>() != cpu_paths[b][t];
  }
  // Streamed, as crepe-server decodes: every sequence a call, each batch holding the next `part`
  // frames of every call (one-hot activations at the observed bins), the activations staying on
  // the device and only decided frames coming back.
  const int64_t part = std::max<int64_t>(1, std::min<int64_t>(o.viterbi_part, steps));
  const int64_t chunks = (steps + part - 1) / part;
  // Rows in batch order: chunk, sequence, frame within the part (the tail of the last chunk unused).
  std::vector<int64_t> order(static_cast<size_t>(chunks * batch * part), -1);
  for (int64_t c = 0; c < chunks; ++c) {
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t t = 0; t < part && c * part + t < steps; ++t)
        order[(c * batch + b) * part + t] = b * steps + c * part + t;
    }
  }
  std::vector<FrameSummary> summaries(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] >= 0) summaries[i] = {static_cast<int32_t>(obs[static_cast<size_t>(order[i])]), 0.9f, 0.9f, 0};
  }
  const torch::Tensor bins =
      torch::tensor(obs, torch::kInt64).index_select(0, torch::tensor(order, torch::kInt64).clamp_min(0));
  const torch::Tensor rows = torch::zeros({static_cast<int64_t>(order.size()), kPitchBins}, torch::kFloat32)
                                 .scatter_(1, bins.unsqueeze(1), 0.9f)
                                 .to(device);
  std::vector<std::vector<int>> streamed(static_cast<size_t>(batch));
  auto stream_all = [&](uint64_t first_id, bool keep) {
    ViterbiStreams streams(device);
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t n = std::min(part, steps - c * part);
      std::vector<ViterbiPart> parts;
      for (int64_t b = 0; b < batch; ++b) {
        parts.push_back({first_id + static_cast<uint64_t>(b), Decoder::kViterbi, BinRange{}, c * part, b * part, n,
                         c == chunks - 1});
      }
      auto decided = streams.Advance(rows.narrow(0, c * batch * part, batch * part),
                                     &summaries[static_cast<size_t>(c * batch * part)], parts);
      if (!decided.ok()) {
        std::fprintf(stderr, "crepe-gpu-bench: viterbi streamed: %s\n", decided.status().ToString().c_str());
        return false;
      }
      for (int64_t b = 0; keep && b < batch; ++b) {
        for (const FrameSummary& f : (*decided)[static_cast<size_t>(b)])
          streamed[static_cast<size_t>(b)].push_back(f.bin);
      }
    }
    return true;
  };
  const bool streamed_ok = stream_all(1, true);  // also the warm-up
  int64_t streamed_mismatches = 0;
  for (int64_t b = 0; b < cpu_sequences; ++b) {
    streamed_mismatches += static_cast<int64_t>(streamed[static_cast<size_t>(b)] != cpu_paths[static_cast<size_t>(b)]);
  }
  int streamed_runs = 0;
  start = Clock::now();
  while (streamed_ok && (streamed_runs < 1 || Seconds(start) < o.point_s)) {
    if (!stream_all(static_cast<uint64_t>(streamed_runs + 2) * static_cast<uint64_t>(batch), false)) break;
    ++streamed_runs;
  }
  const double streamed_rate = static_cast<double>(streamed_runs) * batch * steps * kPitchBins / Seconds(start);
  const bool streamed_equal = streamed_ok && streamed_mismatches == 0;
  std::printf(
      "viterbi: %lld x %lld frames, 360 states: device %.3g state-steps/s, CPU decoder (1 thread) %.3g, "
      "ratio %.1fx; paths equal on %lld sequences: %s\n",
      static_cast<long long>(batch), static_cast<long long>(steps), device_rate, cpu_rate, device_rate / cpu_rate,
      static_cast<long long>(cpu_sequences), mismatches == 0 ? "yes" : "NO");
  std::printf(
      "viterbi streamed: %lld calls, %lld frames each per batch: device %.3g state-steps/s (%.1fx the CPU "
      "decoder); paths equal: %s\n",
      static_cast<long long>(batch), static_cast<long long>(part), streamed_rate, streamed_rate / cpu_rate,
      streamed_equal ? "yes" : "NO");
  Record(Fmt(
      R"({"section":"viterbi","device":"%s","batch":%lld,"steps":%lld,"device_state_steps_per_s":%.6g,"cpu_state_steps_per_s":%.6g,"paths_equal":%s,"streamed_part":%lld,"streamed_state_steps_per_s":%.6g,"streamed_paths_equal":%s})",
      o.device.c_str(), static_cast<long long>(batch), static_cast<long long>(steps), device_rate, cpu_rate,
      mismatches == 0 ? "true" : "false", static_cast<long long>(part), streamed_rate,
      streamed_equal ? "true" : "false"));
}

void Concurrency(const Options& o) {
  std::vector<std::unique_ptr<Model>> models;
  std::vector<double> solo;
  for (const std::string& name : o.capacities) {
    auto m = Make(WeightsFor(o, *ParseCapacity(name)).weights, o.device, Precision::kFp32, 0);
    if (!m) continue;
    solo.push_back(FramesPerSecond(*m, o.point_s));
    models.push_back(std::move(m));
  }
  // Each model runs for the same wall time from its own thread; if their passes overlap on the
  // device, the sum of (frames / solo rate) exceeds the wall time.
  std::vector<double> frames(models.size(), 0);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (size_t k = 0; k < models.size(); ++k) {
    threads.emplace_back([&, k] {
      const int64_t passes =
          std::max<int64_t>(3, static_cast<int64_t>(solo[k] * o.point_s * 2 / models[k]->info().micro_batch));
      if (models[k]->TimeResidentPasses(passes).ok())
        frames[k] = static_cast<double>(passes * models[k]->info().micro_batch);
    });
  }
  for (auto& t : threads) t.join();
  const double wall = Seconds(start);
  double serial = 0;
  for (size_t k = 0; k < models.size(); ++k) serial += frames[k] / solo[k];
  std::printf("concurrency: %zu models from %zu threads: %.2f s of one-at-a-time work done in %.2f s (overlap %.2fx)\n",
              models.size(), models.size(), serial, wall, serial / wall);
  Record(Fmt(R"({"section":"concurrency","device":"%s","models":%zu,"serial_s":%.4f,"wall_s":%.4f,"overlap":%.4f})",
             o.device.c_str(), models.size(), serial, wall, serial / wall));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"crepe-gpu-bench: device measurements for bench/gpu/run.sh"};
  app.add_option("--device", o.device, "cuda, cuda:N or cpu")->capture_default_str();
  app.add_option("--models-dir", o.models_dir, "Folder of official <capacity>.h5 files (missing ones: synthetic)");
  app.add_option("--frames", o.frames_npy, "Normalised frames (.npy, n x 1024) for parity (else a synthetic clip)");
  app.add_option("--json", o.json, "Append one JSON object per measurement here");
  app.add_option("--sections", o.sections, "memory,parity,throughput,e2e,viterbi,concurrency")->delimiter(',');
  app.add_option("--capacities", o.capacities, "Capacities")->delimiter(',');
  app.add_option("--precisions", o.precisions, "Precisions")->delimiter(',');
  app.add_option("--pass-sizes", o.pass_sizes, "Frames per pass (multiples of 8)")->delimiter(',');
  app.add_option("--point-s", o.point_s, "Seconds per throughput point")->capture_default_str();
  app.add_option("--e2e-clips", o.e2e_clips, "Clips per PredictClips call")->capture_default_str();
  app.add_option("--e2e-seconds", o.e2e_seconds, "Seconds of audio per clip")->capture_default_str();
  app.add_option("--viterbi-batch", o.viterbi_batch, "Sequences decoded at once")->capture_default_str();
  app.add_option("--viterbi-steps", o.viterbi_steps, "Frames per sequence")->capture_default_str();
  app.add_option("--viterbi-part", o.viterbi_part,
                 "Frames per sequence per batch when streamed (a divisor of the steps)")
      ->capture_default_str();
  app.add_option("--parity-frames", o.parity_frames, "Frames compared")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (const auto& name : o.capacities) {
    if (!ParseCapacity(name).ok())
      return std::fprintf(stderr, "crepe-gpu-bench: unknown capacity %s\n", name.c_str()), 2;
  }
  for (const auto& name : o.precisions) {
    if (!ParsePrecision(name).ok())
      return std::fprintf(stderr, "crepe-gpu-bench: unknown precision %s\n", name.c_str()), 2;
  }
  if (o.device != "cpu" && !CudaAvailable()) {
    std::fprintf(stderr, "crepe-gpu-bench: --device %s but no CUDA device is usable here\n", o.device.c_str());
    return 1;
  }
  if (!o.json.empty()) json_out.open(o.json, std::ios::app);
  const std::map<std::string, void (*)(const Options&)> sections = {
      {"memory", Memory}, {"parity", Parity},   {"throughput", Throughput},
      {"e2e", EndToEnd},  {"viterbi", Viterbi}, {"concurrency", Concurrency}};
  for (const std::string& s : o.sections) {
    auto it = sections.find(s);
    if (it == sections.end()) return std::fprintf(stderr, "crepe-gpu-bench: unknown section %s\n", s.c_str()), 2;
    const auto start = Clock::now();
    it->second(o);
    std::printf("[%s: %.1f s]\n", s.c_str(), Seconds(start));
    std::fflush(stdout);
  }
  return 0;
}
