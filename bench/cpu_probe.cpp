#include "cpu_probe.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <thread>
#include <vector>

namespace crepe::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// 64 dependent register-register adds per iteration: 64 cycles, whatever the loop counter does
// alongside. (Not `add $imm, reg`: recent Intel cores fold immediate adds at rename, and a chain
// of them runs several times faster than the clock.)
uint64_t AddChain(uint64_t iterations) {
  uint64_t x = 0;
  const uint64_t y = iterations | 1;
  for (uint64_t i = 0; i < iterations; ++i) {
    asm volatile(".rept 64\n\tadd %1, %0\n\t.endr" : "+r"(x) : "r"(y));
  }
  return x;
}

// 16 independent accumulators hide the FMA latency (4 cycles) on two FMA ports.
__attribute__((target("avx512f"))) float FmaLoop512(uint64_t iterations) {
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.9999999f);
  const __m512 b = _mm512_set1_ps(1e-7f);
  for (uint64_t i = 0; i < iterations; ++i) {
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
  for (int j = 1; j < 16; ++j) s = _mm512_add_ps(s, acc[j]);
  float out[16];
  _mm512_storeu_ps(out, s);
  float total = 0;
  for (float v : out) total += v;
  return total;
}
constexpr double kFlopsPerIteration512 = 16 * 16 * 2;

__attribute__((target("avx2,fma"))) float FmaLoop256(uint64_t iterations) {
  __m256 acc[12];
  for (int j = 0; j < 12; ++j) acc[j] = _mm256_set1_ps(static_cast<float>(j) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.9999999f);
  const __m256 b = _mm256_set1_ps(1e-7f);
  for (uint64_t i = 0; i < iterations; ++i) {
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  }
  float out[8];
  __m256 s = acc[0];
  for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, acc[j]);
  _mm256_storeu_ps(out, s);
  float total = 0;
  for (float v : out) total += v;
  return total;
}
constexpr double kFlopsPerIteration256 = 12 * 8 * 2;

// Runs body(iterations) on `threads` threads at once, `reps` times; returns the best (shortest)
// wall time of the slowest thread.
template <typename F>
double BestParallelSeconds(int threads, int reps, uint64_t iterations, F body) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<double> elapsed(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load()) {
        }
        const auto start = Clock::now();
        volatile auto sink = body(iterations);
        (void)sink;
        elapsed[static_cast<size_t>(t)] = Seconds(start, Clock::now());
      });
    }
    while (ready.load() < threads) {
    }
    go.store(true);
    for (auto& th : pool) th.join();
    best = std::min(best, *std::max_element(elapsed.begin(), elapsed.end()));
  }
  return best;
}

// Iterations for about `target` seconds of body on one thread.
template <typename F>
uint64_t Calibrate(F body, double target) {
  uint64_t n = 1000;
  for (;;) {
    const auto start = Clock::now();
    volatile auto sink = body(n);
    (void)sink;
    const double s = Seconds(start, Clock::now());
    if (s > 0.02) return std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(n) * target / s));
    n *= 4;
  }
}

void ReadCpuInfo(CpuProbe& p) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && p.model_name.empty()) p.model_name = value;
    if (key == "cpu MHz" && p.nominal_mhz == 0) p.nominal_mhz = std::atof(value.c_str());
  }
}

}  // namespace

CpuProbe ProbeCpu(int threads) {
  CpuProbe p;
  ReadCpuInfo(p);
  p.threads = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  const uint64_t add_iters = Calibrate(AddChain, 0.1);
  const double add_seconds = BestParallelSeconds(p.threads, 5, add_iters, AddChain);
  p.clock_ghz = static_cast<double>(add_iters) * 64 / add_seconds / 1e9;

  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    p.isa = "avx512f";
    p.flops_per_cycle_assumed = 2 * 16 * 2;
    const uint64_t iters = Calibrate(FmaLoop512, 0.1);
    p.fma_gflops_1 =
        kFlopsPerIteration512 * static_cast<double>(iters) / BestParallelSeconds(1, 5, iters, FmaLoop512) / 1e9;
    p.fma_gflops_n = kFlopsPerIteration512 * static_cast<double>(iters) * p.threads /
                     BestParallelSeconds(p.threads, 5, iters, FmaLoop512) / 1e9;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    p.isa = "avx2+fma";
    p.flops_per_cycle_assumed = 2 * 8 * 2;
    const uint64_t iters = Calibrate(FmaLoop256, 0.1);
    p.fma_gflops_1 =
        kFlopsPerIteration256 * static_cast<double>(iters) / BestParallelSeconds(1, 5, iters, FmaLoop256) / 1e9;
    p.fma_gflops_n = kFlopsPerIteration256 * static_cast<double>(iters) * p.threads /
                     BestParallelSeconds(p.threads, 5, iters, FmaLoop256) / 1e9;
  } else {
    p.isa = "none";
  }
  p.peak_gflops = p.threads * p.clock_ghz * p.flops_per_cycle_assumed;
  return p;
}

}  // namespace crepe::bench
