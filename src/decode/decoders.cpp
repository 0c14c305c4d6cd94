#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <string>

#include "common/guard.h"
#include "crepe/capacity.h"
#include "crepe/decode.h"

namespace crepe {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// numpy's pairwise summation for n <= 128: sequential below 8 elements, else eight partial sums
// combined as a tree and the remainder added in order. Used so that the local average rounds
// exactly like the original's np.sum calls.
template <typename T>
T NumpySmallSum(const T* a, int n) {
  if (n < 8) {
    T res = 0;
    for (int i = 0; i < n; ++i) res += a[i];
    return res;
  }
  T r[8];
  for (int k = 0; k < 8; ++k) r[k] = a[k];
  int i = 8;
  for (; i < n - (n % 8); i += 8) {
    for (int k = 0; k < 8; ++k) r[k] += a[i + k];
  }
  T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; ++i) res += a[i];
  return res;
}

}  // namespace

int ArgmaxBin(const float* row, const BinRange& range) {
  int best = range.lo;
  for (int b = range.lo + 1; b <= range.hi; ++b) {
    if (row[b] > row[best]) best = b;  // first maximum, as numpy's argmax
  }
  return best;
}

float MaxActivation(const float* row) {
  float m = row[0];
  for (int b = 1; b < kPitchBins; ++b) m = std::max(m, row[b]);
  return m;
}

double LocalAverageCents(const float* row, int center, const BinRange& range) {
  const int lo = std::max(range.lo, center - 4);
  const int hi = std::min(range.hi, center + 4);
  double products[9];
  float weights[9];
  const int n = hi - lo + 1;
  for (int k = 0; k < n; ++k) {
    weights[k] = row[lo + k];
    products[k] = static_cast<double>(row[lo + k]) * BinToCents(lo + k);
  }
  const double weight_sum = NumpySmallSum(weights, n);  // float32 sum, as np.sum of float32
  if (weight_sum == 0) return std::numeric_limits<double>::quiet_NaN();
  return NumpySmallSum(products, n) / weight_sum;
}

namespace {

float FrequencyAt(int bin, Decoder decoder, double local_average_cents) {
  if (decoder == Decoder::kArgmax) return static_cast<float>(BinToHz(bin));
  return std::isnan(local_average_cents) ? kNaN : static_cast<float>(CentsToHz(local_average_cents));
}

}  // namespace

void DecodeAtBin(const float* row, int bin, Decoder decoder, const BinRange& range, float* frequency,
                 float* periodicity) {
  *periodicity = row[bin];
  *frequency = FrequencyAt(bin, decoder, decoder == Decoder::kArgmax ? 0.0 : LocalAverageCents(row, bin, range));
}

FrameSummary SummarizeFrame(const float* row, const BinRange& range, bool with_cents) {
  FrameSummary s;
  s.bin = ArgmaxBin(row, range);
  s.bin_activation = row[s.bin];
  s.confidence = MaxActivation(row);
  s.local_average_cents =
      with_cents ? LocalAverageCents(row, s.bin, range) : std::numeric_limits<double>::quiet_NaN();
  return s;
}

void DecodeSummary(const FrameSummary& summary, Decoder decoder, float* frequency, float* periodicity) {
  *periodicity = summary.bin_activation;
  *frequency = FrequencyAt(summary.bin, decoder, summary.local_average_cents);
}

namespace {

Result<DecodedPitch> Decode(const float* activations, int64_t frames, Decoder decoder, const BinRange& range) {
  if (frames < 0) return InvalidArgumentError("negative frame count");
  if (range.lo < 0 || range.hi >= kPitchBins || range.hi < range.lo) {
    return InvalidArgumentError("invalid bin range");
  }
  DecodedPitch out;
  const auto n = static_cast<size_t>(frames);
  out.frequency.resize(n);
  out.confidence.resize(n);
  out.periodicity.resize(n);
  out.bins.resize(n);

  for (size_t t = 0; t < n; ++t) {
    const float* row = activations + t * kPitchBins;
    out.bins[t] = ArgmaxBin(row, range);
    out.confidence[t] = MaxActivation(row);
  }
  if (IsViterbi(decoder)) {
    CREPE_ASSIGN_OR_RETURN(ViterbiDecoder viterbi, ViterbiDecoder::Make(range, decoder == Decoder::kViterbiConfidence));
    for (size_t t = 0; t < n; ++t) {
      CREPE_RETURN_IF_ERROR(viterbi.Push(out.bins[t], activations[t * kPitchBins + out.bins[t]]));
    }
    CREPE_ASSIGN_OR_RETURN(out.bins, viterbi.Finish());
  }
  for (size_t t = 0; t < n; ++t) {
    DecodeAtBin(activations + t * kPitchBins, out.bins[t], decoder, range, &out.frequency[t], &out.periodicity[t]);
  }
  return out;
}

}  // namespace

Result<DecodedPitch> DecodeActivations(const float* activations, int64_t frames, Decoder decoder,
                                       const BinRange& range) {
  if (frames > 0 && activations == nullptr) return InvalidArgumentError("null activations");
  return internal::WithoutAllocationExceptions("decoding", [&] { return Decode(activations, frames, decoder, range); });
}

}  // namespace crepe
