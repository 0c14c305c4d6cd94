// Measurements of the CPU itself, so the benchmark can put achieved GFLOP/s next to an honest
// peak: the core clock (a chain of dependent integer adds retires one add per cycle) and the
// fp32 FMA throughput actually reachable with AVX-512 (or AVX2) register-only loops.
#pragma once

#include <string>

namespace crepe::bench {

struct CpuProbe {
  std::string model_name;           // /proc/cpuinfo "model name"
  double nominal_mhz = 0;           // /proc/cpuinfo "cpu MHz" (in a VM usually the TSC rate, not the clock)
  int threads = 0;                  // threads the probe ran on concurrently
  double clock_ghz = 0;             // measured core clock, slowest of the threads, while all run
  std::string isa;                  // "avx512f", "avx2+fma" or "none"
  int flops_per_cycle_assumed = 0;  // per core: 2 FMA units x lanes x 2 (AVX-512: 64, AVX2: 32)
  double fma_gflops_1 = 0;          // measured register-only FMA GFLOP/s, one thread
  double fma_gflops_n = 0;          // ... all `threads` threads at once
  double peak_gflops = 0;           // threads x clock_ghz x flops_per_cycle_assumed
};

// Takes about a second. `threads` <= 0 means std::thread::hardware_concurrency().
CpuProbe ProbeCpu(int threads);

}  // namespace crepe::bench
