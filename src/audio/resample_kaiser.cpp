// A bit-exact reimplementation of resampy 0.4's resample(x, sr_orig, sr_new, filter='kaiser_best')
// for float32 input (resampy/core.py + resampy/interpn.py), with the filter regenerated the way
// resampy's sinc_window builds it (numpy.kaiser, numpy.sinc).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "audio/resample_internal.h"

// Bit-exactness needs every multiply and add rounded on its own, as numpy and numba do: no fused
// multiply-add contraction, whatever the build flags.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace crepe::audio_internal {
namespace {

// Cephes' Chebyshev coefficients for I0, as in numpy/lib/function_base.py (_i0A, _i0B).
constexpr double kI0A[] = {
    -4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16, 1.71539128555513303061E-15,
    -1.16853328779934516808E-14, 7.67618549860493561688E-14, -4.85644678311192946090E-13, 2.95505266312963983461E-12,
    -1.72682629144155570723E-11, 9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9,
    -1.30002500998624804212E-8,  6.04699502254191894932E-8,  -2.67079385394061173391E-7,  1.11738753912010371815E-6,
    -4.41673835845875056359E-6,  1.64484480707288970893E-5,  -5.75419501008210370398E-5,  1.88502885095841655729E-4,
    -5.76375574538582365885E-4,  1.63947561694133579842E-3,  -4.32430999505057594430E-3,  1.05464603945949983183E-2,
    -2.37374148058994688156E-2,  4.93052842396707084878E-2,  -9.49010970480476444210E-2,  1.71620901522208775349E-1,
    -3.04682672343198398683E-1,  6.76795274409476084995E-1,
};
constexpr double kI0B[] = {
    -7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,  3.46122286769746109310E-17,
    -2.82762398051658348494E-16, -3.42548561967721913462E-16, 1.77256013305652638360E-15,  3.81168066935262242075E-15,
    -9.55484669882830764870E-15, -4.15056934728722208663E-14, 1.54008621752140982691E-14,  3.85277838274214270114E-13,
    7.18012445138366623367E-13,  -1.79417853150680611778E-12, -1.32158118404477131188E-11, -3.14991652796324136454E-11,
    1.18891471078464383424E-11,  4.94060238822496958910E-10,  3.39623202570838634515E-9,   2.26666899049817806459E-8,
    2.04891858946906374183E-7,   2.89137052083475648297E-6,   6.88975834691682398426E-5,   3.36911647825569408990E-3,
    8.04490411014108831608E-1,
};

// numpy's _chbevl: Clenshaw recurrence, the same operation order.
template <size_t N>
double Chbevl(double x, const double (&coefficients)[N]) {
  double b0 = coefficients[0];
  double b1 = 0.0;
  double b2 = 0.0;
  for (size_t i = 1; i < N; ++i) {
    b2 = b1;
    b1 = b0;
    b0 = x * b1 - b2 + coefficients[i];
  }
  return 0.5 * (b0 - b2);
}

constexpr double kPi = 3.141592653589793;  // numpy.pi

// numpy.sinc: sin(pi*x)/(pi*x), with x == 0 replaced by 1e-20.
double NumpySinc(double x) {
  const double y = kPi * (x == 0.0 ? 1.0e-20 : x);
  return std::sin(y) / y;
}

std::vector<double> BuildKaiserBestHalfWindow() {
  // resampy.filters.sinc_window(num_zeros=50, precision=13, window=kaiser(beta), rolloff):
  //   sinc_win = rolloff * np.sinc(rolloff * np.linspace(0, num_zeros, n + 1))
  //   taper = window(2 * n + 1)[n:]
  //   interp_win = taper * sinc_win
  const int64_t n = kKaiserBestTaps - 1;
  const double window_length = static_cast<double>(2 * n + 1);
  const double alpha = (window_length - 1) / 2.0;                         // np.kaiser
  const double step = static_cast<double>(kKaiserBestZeroCrossings) / n;  // np.linspace
  const double i0_beta = BesselI0(kKaiserBestBeta);
  std::vector<double> half_window(static_cast<size_t>(kKaiserBestTaps));
  for (int64_t m = 0; m <= n; ++m) {
    const double r = (static_cast<double>(n + m) - alpha) / alpha;
    const double taper = BesselI0(kKaiserBestBeta * std::sqrt(1.0 - r * r)) / i0_beta;
    const double position = m == n ? static_cast<double>(kKaiserBestZeroCrossings) : static_cast<double>(m) * step;
    const double sinc = kKaiserBestRolloff * NumpySinc(kKaiserBestRolloff * position);
    half_window[static_cast<size_t>(m)] = taper * sinc;
  }
  return half_window;
}

}  // namespace

double BesselI0(double x) {
  x = std::fabs(x);
  if (x <= 8.0) return std::exp(x) * Chbevl(x / 2.0 - 2, kI0A);
  return std::exp(x) * Chbevl(32.0 / x - 2.0, kI0B) / std::sqrt(x);
}

const std::vector<double>& KaiserBestHalfWindow() {
  // A function-local static is initialised once, thread-safely; if the allocation throws, the
  // next call tries again.
  static const std::vector<double> half_window = BuildKaiserBestHalfWindow();
  return half_window;
}

namespace {

// The interpolation tables for one rate ratio: the (scaled) half window and its differences.
// 2 x 3.3 MB, so they are built once per ratio and kept (a handful of ratios in practice).
struct KaiserTables {
  std::vector<double> win;
  std::vector<double> delta;
};

std::shared_ptr<const KaiserTables> TablesFor(int sr_orig, int sr_new) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::shared_ptr<const KaiserTables>> cache;
  constexpr size_t kMaxCachedRatios = 8;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[{sr_orig, sr_new}];
  if (slot) return slot;
  const std::vector<double>& base = KaiserBestHalfWindow();
  const double sample_ratio = static_cast<double>(sr_new) / sr_orig;
  auto tables = std::make_shared<KaiserTables>();
  // interp_win = sample_ratio * interp_win when downsampling; interp_delta = np.diff(interp_win,
  // append=interp_win[-1]), i.e. taken after the scaling, with a last element of 0.
  tables->win = base;
  if (sample_ratio < 1) {
    for (double& w : tables->win) w = sample_ratio * w;
  }
  const std::vector<double>& win = tables->win;
  const size_t nwin = win.size();
  tables->delta.resize(nwin);
  for (size_t i = 0; i + 1 < nwin; ++i) tables->delta[i] = win[i + 1] - win[i];
  tables->delta[nwin - 1] = win[nwin - 1] - win[nwin - 1];
  if (cache.size() > kMaxCachedRatios) {
    std::shared_ptr<const KaiserTables> keep = tables;
    cache.clear();
    cache[{sr_orig, sr_new}] = keep;
    return keep;
  }
  slot = tables;
  return slot;
}

// Output samples [first, last) of the resampled signal. Every output sample depends only on the
// input, so ranges can be computed in parallel with bit-identical results.
// `x` holds input samples [x_base, ...): a stream keeps only the recent part of its input.
void ResampleRange(const float* x, int64_t x_base, int64_t n_in, int sr_orig, int sr_new, const KaiserTables& tables,
                   int64_t first, int64_t last, float* y) {
  const double* win = tables.win.data();
  const double* delta = tables.delta.data();
  const int64_t nwin = static_cast<int64_t>(tables.win.size());
  const double sample_ratio = static_cast<double>(sr_new) / sr_orig;
  const double scale = std::min(1.0, sample_ratio);
  const double time_increment = 1.0 / sample_ratio;
  const double num_table = static_cast<double>(kKaiserBestPrecision);
  const int64_t index_step = static_cast<int64_t>(scale * num_table);

  for (int64_t t = first; t < last; ++t) {
    // t_out = np.arange(n_out) * time_increment: a product, not an accumulated sum.
    const double time_register = static_cast<double>(t) * time_increment;
    const int64_t n = static_cast<int64_t>(time_register);
    double frac = scale * (time_register - static_cast<double>(n));
    double index_frac = frac * num_table;
    int64_t offset = static_cast<int64_t>(index_frac);
    double eta = index_frac - static_cast<double>(offset);

    // y[t] is float32: every `+=` is done in double and rounded back to float32.
    float acc = 0.0f;
    const int64_t i_max = std::min(n + 1, (nwin - offset) / index_step);
    for (int64_t i = 0; i < i_max; ++i) {
      const int64_t j = offset + i * index_step;
      const double weight = win[j] + eta * delta[j];
      acc = static_cast<float>(static_cast<double>(acc) + weight * static_cast<double>(x[n - i - x_base]));
    }

    frac = scale - frac;
    index_frac = frac * num_table;
    offset = static_cast<int64_t>(index_frac);
    eta = index_frac - static_cast<double>(offset);
    const int64_t k_max = std::min(n_in - n - 1, (nwin - offset) / index_step);
    for (int64_t k = 0; k < k_max; ++k) {
      const int64_t j = offset + k * index_step;
      const double weight = win[j] + eta * delta[j];
      acc = static_cast<float>(static_cast<double>(acc) + weight * static_cast<double>(x[n + k + 1 - x_base]));
    }
    y[t - first] = acc;
  }
}

}  // namespace

Result<std::vector<float>> ResampleKaiserBest(const float* x, int64_t n_in, int sr_orig, int sr_new, int max_threads) {
  if (sr_orig <= 0 || sr_new <= 0) {
    return InvalidArgumentError("invalid sample rates " + std::to_string(sr_orig) + " -> " + std::to_string(sr_new));
  }
  if (sr_orig == sr_new) return InvalidArgumentError("kaiser_best resampling needs two different rates");
  if (n_in < 0 || (n_in > 0 && x == nullptr)) return InvalidArgumentError("invalid input signal");
  // core.py: int(shape * float(sr_new) / float(sr_orig)), in double.
  const int64_t n_out =
      static_cast<int64_t>(static_cast<double>(n_in) * static_cast<double>(sr_new) / static_cast<double>(sr_orig));
  if (n_out < 1) {
    return InvalidArgumentError("input signal of " + std::to_string(n_in) + " samples is too short to resample from " +
                                std::to_string(sr_orig) + " Hz to " + std::to_string(sr_new) + " Hz");
  }
  try {
    const std::shared_ptr<const KaiserTables> tables = TablesFor(sr_orig, sr_new);
    std::vector<float> y(static_cast<size_t>(n_out));
    // Long signals are split over the cores; a thread is not worth it below a second of output.
    constexpr int64_t kMinOutputPerThread = 16000;
    const int64_t cores = max_threads > 0 ? max_threads : std::thread::hardware_concurrency();
    const int64_t threads = std::clamp<int64_t>(n_out / kMinOutputPerThread, 1, std::max<int64_t>(1, cores));
    const int64_t chunk = (n_out + threads - 1) / threads;
    {
      // Joins whatever was started when this block is left, normally or not (a std::thread
      // destroyed unjoined would terminate the process), and before `y` is returned.
      struct Workers {
        std::vector<std::thread> threads;
        ~Workers() {
          for (auto& t : threads) t.join();
        }
      } workers;
      workers.threads.reserve(static_cast<size_t>(threads));
      for (int64_t w = 1; w < threads; ++w) {
        const int64_t first = w * chunk, last = std::min(n_out, first + chunk);
        try {
          workers.threads.emplace_back(ResampleRange, x, int64_t{0}, n_in, sr_orig, sr_new, std::cref(*tables), first,
                                       last, y.data() + first);
        } catch (const std::system_error&) {  // no thread to be had: do this part here
          ResampleRange(x, 0, n_in, sr_orig, sr_new, *tables, first, last, y.data() + first);
        }
      }
      ResampleRange(x, 0, n_in, sr_orig, sr_new, *tables, 0, std::min(n_out, chunk), y.data());
    }
    return y;
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory resampling " + std::to_string(n_in) + " samples");
  }
}

Result<std::unique_ptr<KaiserBestStream>> KaiserBestStream::Make(int sr_orig, int sr_new) {
  if (sr_orig <= 0 || sr_new <= 0 || sr_orig == sr_new) {
    return InvalidArgumentError("invalid sample rates " + std::to_string(sr_orig) + " -> " + std::to_string(sr_new));
  }
  try {
    return std::unique_ptr<KaiserBestStream>(new KaiserBestStream(sr_orig, sr_new, TablesFor(sr_orig, sr_new)));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for the resampler's tables");
  }
}

KaiserBestStream::KaiserBestStream(int sr_orig, int sr_new, std::shared_ptr<const void> tables)
    : sr_orig_(sr_orig), sr_new_(sr_new), tables_(std::move(tables)) {
  const auto& t = *static_cast<const KaiserTables*>(tables_.get());
  const double scale = std::min(1.0, static_cast<double>(sr_new) / sr_orig);
  const auto index_step = static_cast<int64_t>(scale * kKaiserBestPrecision);
  // Taps reach at most nwin / index_step input samples to either side of an output's position.
  reach_ = static_cast<int64_t>(t.win.size()) / index_step + 2;
}

Status KaiserBestStream::Push(const float* x, int64_t n) {
  if (n <= 0) return Status::Ok();
  try {
    input_.insert(input_.end(), x, x + n);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory buffering " + std::to_string(n) + " samples");
  }
  received_ += n;
  return Status::Ok();
}

Status KaiserBestStream::Drain(bool final, std::vector<float>& out) {
  const auto& tables = *static_cast<const KaiserTables*>(tables_.get());
  const double time_increment = static_cast<double>(sr_orig_) / sr_new_;
  int64_t last = 0;  // one past the last output sample computable now
  if (final) {
    last = static_cast<int64_t>(static_cast<double>(received_) * static_cast<double>(sr_new_) /
                                static_cast<double>(sr_orig_));
  } else {
    // Output t reads inputs up to floor(t * increment) + reach: wait until they have arrived.
    const double limit = static_cast<double>(received_ - reach_ - 1);
    last = limit < 0 ? 0 : static_cast<int64_t>(limit / time_increment);
    while (last > next_output_ &&
           static_cast<int64_t>(static_cast<double>(last - 1) * time_increment) + reach_ >= received_) {
      --last;
    }
  }
  if (last <= next_output_) return Status::Ok();
  try {
    const size_t base = out.size();
    out.resize(base + static_cast<size_t>(last - next_output_));
    ResampleRange(input_.data(), input_base_, received_, sr_orig_, sr_new_, tables, next_output_, last,
                  out.data() + base);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory resampling a stream");
  }
  next_output_ = last;
  // Keep only what later outputs can still read (reach_ samples before the next one).
  const int64_t keep_from =
      std::max<int64_t>(0, static_cast<int64_t>(static_cast<double>(next_output_) * time_increment) - reach_);
  if (keep_from - input_base_ > static_cast<int64_t>(input_.size() / 2) && keep_from > input_base_) {
    input_.erase(input_.begin(), input_.begin() + (keep_from - input_base_));
    input_base_ = keep_from;
  }
  return Status::Ok();
}

}  // namespace crepe::audio_internal
