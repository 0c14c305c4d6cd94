#include <algorithm>
#include <cmath>
#include <sstream>

#include "crepe/capacity.h"
#include "crepe/decode.h"

namespace crepe {
namespace {
// 1200 * log2(31.7 / 10): the centre of bin 0, in cents above 10 Hz.
constexpr double kCentsOffset = 1997.3794084376191;
constexpr double kCentsPerBin = 20.0;
}  // namespace

Result<Decoder> ParseDecoder(std::string_view name) {
  if (name == "argmax") return Decoder::kArgmax;
  if (name == "weighted_argmax") return Decoder::kWeightedArgmax;
  if (name == "viterbi") return Decoder::kViterbi;
  if (name == "viterbi_confidence") return Decoder::kViterbiConfidence;
  return InvalidArgumentError("unknown decoder '" + std::string(name) +
                              "' (expected one of argmax, weighted_argmax, viterbi, viterbi_confidence)");
}

std::string_view DecoderName(Decoder d) {
  switch (d) {
    case Decoder::kArgmax:
      return "argmax";
    case Decoder::kWeightedArgmax:
      return "weighted_argmax";
    case Decoder::kViterbi:
      return "viterbi";
    case Decoder::kViterbiConfidence:
      return "viterbi_confidence";
  }
  return "unknown";
}

bool IsViterbi(Decoder d) { return d == Decoder::kViterbi || d == Decoder::kViterbiConfidence; }

double BinToCents(double bin) { return kCentsPerBin * bin + kCentsOffset; }
double CentsToHz(double cents) { return 10.0 * std::pow(2.0, cents / 1200.0); }
double HzToCents(double hz) { return 1200.0 * std::log2(hz / 10.0); }
double BinToHz(int bin) { return CentsToHz(BinToCents(bin)); }

Result<BinRange> BinRangeFor(double fmin_hz, double fmax_hz) {
  if (std::isnan(fmin_hz) || std::isnan(fmax_hz) || fmin_hz < 0 || std::isinf(fmin_hz)) {
    return InvalidArgumentError("fmin must be a finite frequency >= 0 Hz and fmax a frequency (got fmin=" +
                                std::to_string(fmin_hz) + ", fmax=" + std::to_string(fmax_hz) + ")");
  }
  if (fmax_hz <= fmin_hz) {
    return InvalidArgumentError("fmax (" + std::to_string(fmax_hz) + " Hz) must be greater than fmin (" +
                                std::to_string(fmin_hz) + " Hz)");
  }
  BinRange r{kPitchBins, -1};
  for (int b = 0; b < kPitchBins; ++b) {
    const double f = BinToHz(b);
    if (f >= fmin_hz && f <= fmax_hz) {
      r.lo = std::min(r.lo, b);
      r.hi = std::max(r.hi, b);
    }
  }
  if (r.hi < r.lo) {
    std::ostringstream m;
    m << "no pitch bin lies in [" << fmin_hz << ", " << fmax_hz << "] Hz; CREPE covers " << BinToHz(0) << " to "
      << BinToHz(kPitchBins - 1) << " Hz";
    return InvalidArgumentError(m.str());
  }
  return r;
}

}  // namespace crepe
