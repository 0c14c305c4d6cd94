// The original CREPE's Viterbi decoding (crepe.core.to_viterbi_cents), which hands hmmlearn a
// CategoricalHMM with a banded transition matrix and decodes the argmax bins. Reproduced exactly,
// tie rules included: the last frame takes the first best state; the backtrack takes the largest
// state among equals (hmmlearn recomputes it; we record it during the forward pass, which uses
// the very same sums and so gives the same path in bounded extra memory per frame).
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <string>

#include "crepe/capacity.h"
#include "crepe/decode.h"

namespace crepe {
namespace {
constexpr int kBandHalfWidth = kViterbiBandHalfWidth;  // transition weight is zero beyond this
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
}  // namespace

std::vector<double> ViterbiLogTransitions(int states) {
  std::vector<double> log_trans(static_cast<size_t>(states) * states, kNegInf);
  for (int i = 0; i < states; ++i) {
    int row_sum = 0;
    for (int j = 0; j < states; ++j) row_sum += std::max(12 - std::abs(i - j), 0);
    for (int j = 0; j < states; ++j) {
      const int w = std::max(12 - std::abs(i - j), 0);
      if (w > 0) log_trans[static_cast<size_t>(i) * states + j] = std::log(static_cast<double>(w) / row_sum);
    }
  }
  return log_trans;
}

// The original's emission over all 360 symbols: the observed bin has probability s + (1 - s) / 360,
// every other (1 - s) / 360, with s = 0.1. Weighted, s = 0.1 x the observed bin's activation, so an
// observation near 0 (silence, noise) says almost nothing about the state.
ViterbiEmission ViterbiEmissionFor(bool weighted, float observed_activation) {
  const double s = 0.1 * (weighted ? std::clamp(static_cast<double>(observed_activation), 0.0, 1.0) : 1.0);
  return {std::log(s + (1.0 - s) / kPitchBins), std::log((1.0 - s) / kPitchBins)};
}

Status ViterbiDecoder::CheckRange(const BinRange& range) {
  if (range.lo < 0 || range.hi >= kPitchBins || range.hi < range.lo) {
    return InvalidArgumentError("invalid bin range [" + std::to_string(range.lo) + ", " + std::to_string(range.hi) +
                                "]");
  }
  return Status::Ok();
}

Result<ViterbiDecoder> ViterbiDecoder::Make(const BinRange& range, bool weighted) {
  CREPE_RETURN_IF_ERROR(CheckRange(range));
  try {
    return ViterbiDecoder(range, weighted);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for the Viterbi decoder");
  }
}

ViterbiDecoder::ViterbiDecoder(const BinRange& range, bool weighted)
    : range_(range), states_(range.size()), path_(range), weighted_(weighted) {
  log_trans_ = ViterbiLogTransitions(states_);
  emission_ = ViterbiEmissionFor(weighted_, 1.0f);
  log_start_ = std::log(1.0 / kPitchBins);
  score_.resize(states_);
  next_.resize(states_);
}

Status ViterbiDecoder::Push(int observed_bin, float observed_activation) {
  const int obs = std::clamp(observed_bin, range_.lo, range_.hi) - range_.lo;
  if (weighted_) emission_ = ViterbiEmissionFor(true, observed_activation);
  const bool first = path_.frames() == 0;
  int8_t* back = path_.AppendFrame();
  if (back == nullptr) {
    return ResourceExhaustedError("out of memory for the Viterbi path after " + std::to_string(path_.frames()) +
                                  " frames");
  }
  if (first) {
    for (int i = 0; i < states_; ++i) score_[i] = log_start_ + (i == obs ? emission_.hit : emission_.miss);
    return Status::Ok();
  }
  for (int k = 0; k < states_; ++k) {
    double best = kNegInf;
    int arg = k;
    const int lo = std::max(0, k - kBandHalfWidth);
    const int hi = std::min(states_ - 1, k + kBandHalfWidth);
    for (int i = lo; i <= hi; ++i) {
      const double v = score_[i] + log_trans_[static_cast<size_t>(i) * states_ + k];
      if (v >= best) {  // ">=": among equal predecessors the largest index wins, as in hmmlearn
        best = v;
        arg = i;
      }
    }
    next_[k] = best + (k == obs ? emission_.hit : emission_.miss);
    back[k] = static_cast<int8_t>(arg - k);
  }
  score_.swap(next_);
  return Status::Ok();
}

Result<std::vector<int>> ViterbiDecoder::Finish() {
  // First index of the maximum (std::max_element), as hmmlearn does for the last frame.
  const int last = static_cast<int>(std::max_element(score_.begin(), score_.end()) - score_.begin());
  return path_.Finish(last);
}

int8_t* ViterbiPath::AppendFrame() {
  try {
    backpointer_.resize(backpointer_.size() + static_cast<size_t>(states_));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  ++frames_;
  return backpointer_.data() + backpointer_.size() - static_cast<size_t>(states_);
}

Result<std::vector<int>> ViterbiPath::TakeDecided() {
  std::vector<int> path;
  if (frames_ - decided_ < 2) return path;
  auto row = [&](int64_t t) { return backpointer_.data() + static_cast<size_t>(t - backpointer_base_) * states_; };
  try {
    if (merge_seen_.empty()) merge_seen_.assign(static_cast<size_t>(states_), -1);
    merge_states_.clear();
    for (int i = 0; i < states_; ++i) merge_states_.push_back(i);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for the Viterbi path");
  }
  // Walk back from every state of the newest frame, following best predecessors, until all the
  // walks meet in one state: nothing after that point can change the path before it.
  int64_t merged_at = -1;
  int merged_state = 0;
  for (int64_t t = frames_ - 1; t > decided_; --t) {
    const int8_t* back = row(t);
    const int64_t generation = ++merge_generation_;  // marks the states seen in this step
    size_t kept = 0;
    for (size_t m = 0; m < merge_states_.size(); ++m) {
      const int prev = merge_states_[m] + back[merge_states_[m]];
      if (merge_seen_[static_cast<size_t>(prev)] != generation) {
        merge_seen_[static_cast<size_t>(prev)] = generation;
        merge_states_[kept++] = prev;
      }
    }
    merge_states_.resize(kept);
    if (kept == 1) {
      merged_at = t - 1;
      merged_state = merge_states_[0];
      break;
    }
  }
  if (merged_at < decided_) return path;
  try {
    path.resize(static_cast<size_t>(merged_at - decided_ + 1));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for the Viterbi path");
  }
  int state = merged_state;
  for (int64_t t = merged_at; t >= decided_; --t) {
    path[static_cast<size_t>(t - decided_)] = state + range_.lo;
    if (t > decided_) state += row(t)[state];
  }
  decided_ = merged_at + 1;
  // Rows of decided frames are never read again; drop them once they are the larger part.
  const int64_t stale = decided_ - backpointer_base_;
  if (stale > 0 && stale >= frames_ - decided_) {
    backpointer_.erase(backpointer_.begin(), backpointer_.begin() + static_cast<std::ptrdiff_t>(stale * states_));
    backpointer_base_ = decided_;
  }
  return path;
}

Result<std::vector<int>> ViterbiPath::Finish(int last_state) {
  std::vector<int> path;
  try {
    path.resize(static_cast<size_t>(frames_ - decided_));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for the Viterbi path");
  }
  if (frames_ > decided_) {
    int state = std::clamp(last_state, 0, states_ - 1);
    for (int64_t t = frames_ - 1; t >= decided_; --t) {
      path[static_cast<size_t>(t - decided_)] = state + range_.lo;
      if (t > decided_) state += backpointer_[static_cast<size_t>(t - backpointer_base_) * states_ + state];
    }
  }
  backpointer_.clear();
  backpointer_base_ = 0;
  frames_ = 0;
  decided_ = 0;
  return path;
}

}  // namespace crepe
