#include "session/result_side.h"

#include <algorithm>
#include <new>
#include <string>
#include <utility>

#include "crepe/capacity.h"
#include "session/post_chain.h"

namespace crepe::internal {
namespace {

// Long enough for any clip: only Time() of this grid is used.
constexpr int64_t kUnboundedSamples = int64_t{1} << 52;

template <typename T>
void EraseFront(std::vector<T>& v, size_t n) {
  v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, v.size())));
}

template <typename T>
int64_t BytesOf(const std::vector<T>& v) {
  return static_cast<int64_t>(v.capacity() * sizeof(T));
}

}  // namespace

Result<std::unique_ptr<ResultSide>> ResultSide::Make(const SessionConfig& config) {
  std::unique_ptr<ResultSide> r(new ResultSide(config));
  const PredictOptions& o = config.options;
  CREPE_ASSIGN_OR_RETURN(r->range_, BinRangeFor(o.fmin_hz, o.fmax_hz));
  CREPE_ASSIGN_OR_RETURN(r->probe_, FrameGrid::Make(kUnboundedSamples, config.sample_rate, o.hop, o.center));
  r->reach_ = PostProcessingReach(o.post);
  if (IsViterbi(o.decoder) && !config.viterbi_elsewhere) {
    CREPE_ASSIGN_OR_RETURN(ViterbiDecoder v, ViterbiDecoder::Make(r->range_, o.decoder == Decoder::kViterbiConfidence));
    r->viterbi_.emplace(std::move(v));
  }
  return r;
}

// Viterbi: frames decoded at their path's bins, from their activation rows.
void ResultSide::DecodeRows(const float* rows, const std::vector<int>& bins) {
  for (size_t k = 0; k < bins.size(); ++k) {
    float f = 0, p = 0;
    DecodeAtBin(rows + k * kPitchBins, bins[k], config_.options.decoder, range_, &f, &p);
    frequency_.push_back(f);
    periodicity_.push_back(p);
  }
  decoded_ += static_cast<int64_t>(bins.size());
}

// Frames decoded from their summaries (at the most active bin, or at a path's bin decided
// elsewhere): DecodeAtBin's values.
void ResultSide::DecodeSummaries(const FrameSummary* summaries, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float f = 0, p = 0;
    DecodeSummary(summaries[i], config_.options.decoder, &f, &p);
    frequency_.push_back(f);
    periodicity_.push_back(p);
  }
  decoded_ += n;
}

Status ResultSide::PushDecidedFrames(const FrameSummary* decided, int64_t n) {
  if (!config_.viterbi_elsewhere || !IsViterbi(config_.options.decoder)) {
    return InternalError("decided frames for a session that decodes its own frames");
  }
  if (n < 0 || decoded_ + n > received_ || (n > 0 && decided == nullptr)) {
    return InternalError(std::to_string(n) + " decided frames after frame " + std::to_string(decoded_) + ", but only " +
                         std::to_string(received_) + " frames' outputs are in");
  }
  try {
    DecodeSummaries(decided, n);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory keeping the results of " + std::to_string(n) + " frames");
  }
  return Status::Ok();
}

// Viterbi: decode whatever part of the path has become certain (all of it at the end).
Status ResultSide::AdvanceViterbi() {
  const bool last = total_ >= 0 && received_ == total_;
  CREPE_ASSIGN_OR_RETURN(std::vector<int> bins, last ? viterbi_->Finish() : viterbi_->TakeDecided());
  DecodeRows(undecided_rows_.data(), bins);
  EraseFront(undecided_rows_, bins.size() * kPitchBins);
  return Status::Ok();
}

Status ResultSide::AddLoudness(const std::vector<float>& loudness_db) {
  try {
    loudness_.insert(loudness_.end(), loudness_db.begin(), loudness_db.end());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory keeping loudness");
  }
  return Status::Ok();
}

Status ResultSide::PushNetworkOutput(int64_t first, int64_t n, const float* activations, const float* embeddings) {
  if (n > 0 && activations == nullptr) return InternalError("activations missing");
  try {
    // Only kWeightedArgmax reads the local average at the most active bin.
    const bool with_cents = config_.options.decoder == Decoder::kWeightedArgmax;
    summaries_.resize(static_cast<size_t>(std::max<int64_t>(n, 0)));
    for (int64_t i = 0; i < n; ++i) summaries_[i] = SummarizeFrame(activations + i * kPitchBins, range_, with_cents);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory summarising " + std::to_string(n) + " frames");
  }
  return PushSummarizedOutput(first, n, summaries_.data(), activations, embeddings);
}

Status ResultSide::PushSummarizedOutput(int64_t first, int64_t n, const FrameSummary* summaries,
                                        const float* activations, const float* embeddings) {
  if (n > 0 && summaries == nullptr) return InternalError("frame summaries missing");
  if (first != received_ || n < 0 || (total_ >= 0 && first + n > total_)) {
    return InternalError("network output for frames [" + std::to_string(first) + ", " + std::to_string(first + n) +
                         ") does not follow on from frame " + std::to_string(received_));
  }
  if (n > 0 && needs_activation_rows() && activations == nullptr) return InternalError("activations missing");
  const bool want_embeddings = config_.options.want_embeddings;
  if (n > 0 && want_embeddings && embeddings == nullptr) return InternalError("embeddings missing");
  try {
    for (int64_t i = 0; i < n; ++i) confidence_.push_back(summaries[i].confidence);
    if (config_.options.want_activations) {
      activations_.insert(activations_.end(), activations, activations + n * kPitchBins);
    }
    if (want_embeddings) embeddings_.insert(embeddings_.end(), embeddings, embeddings + n * embedding_size());
    received_ += n;
    if (!viterbi_) {
      // A path decided where the network ran comes in through PushDecidedFrames.
      if (!IsViterbi(config_.options.decoder)) DecodeSummaries(summaries, n);
      return Status::Ok();
    }
    undecided_rows_.insert(undecided_rows_.end(), activations, activations + n * kPitchBins);
    for (int64_t i = 0; i < n; ++i) {
      CREPE_RETURN_IF_ERROR(viterbi_->Push(summaries[i].bin, summaries[i].bin_activation));
    }
    return AdvanceViterbi();
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory keeping the results of " + std::to_string(n) + " frames");
  }
}

Status ResultSide::SetEnd(int64_t total_frames, std::vector<float> clip_loudness) {
  if (total_ >= 0) return FailedPreconditionError("the clip's end was already set");
  if (total_frames < received_) return InternalError("the clip ends before frames already received");
  total_ = total_frames;
  if (config_.options.post.silence_db && !config_.options.post.silence_reference_db) {
    if (static_cast<int64_t>(clip_loudness.size()) != total_frames) {
      return InternalError("the clip's loudness does not cover its frames");
    }
    loudness_ = std::move(clip_loudness);
  }
  if (viterbi_ && received_ == total_) return AdvanceViterbi();
  return Status::Ok();
}

Result<Prediction> ResultSide::TakeResults(int64_t* first) {
  *first = released_;
  const bool all_decoded = total_ >= 0 && decoded_ == total_;
  int64_t horizon = released_;
  if (all_decoded) {
    horizon = decoded_;
  } else if (reach_ >= 0) {
    horizon = std::max(released_, decoded_ - reach_);
  }
  Prediction p;
  p.embedding_width = config_.embedding_width;
  if (horizon == released_) return p;
  try {
    // Post-process a slice wide enough that the rows released are exactly what the whole clip
    // would give them (a filter's output depends on its half-window only).
    const int64_t lo = reach_ >= 0 ? std::max<int64_t>(0, released_ - reach_) : 0;
    const auto at = [this](int64_t frame) { return static_cast<std::ptrdiff_t>(frame - series_base_); };
    std::vector<float> frequency(frequency_.begin() + at(lo), frequency_.begin() + at(decoded_));
    std::vector<float> periodicity(periodicity_.begin() + at(lo), periodicity_.begin() + at(decoded_));
    std::vector<float> loudness;
    const PostProcessOptions& post = config_.options.post;
    if (post.silence_db) loudness.assign(loudness_.begin() + at(lo), loudness_.begin() + at(decoded_));
    CREPE_RETURN_IF_ERROR(ApplyPostProcessing(post, loudness, frequency, periodicity));

    const auto count = static_cast<size_t>(horizon - released_);
    p.time.resize(count);
    for (size_t i = 0; i < count; ++i) p.time[i] = probe_.Time(released_ + static_cast<int64_t>(i));
    const auto offset = static_cast<std::ptrdiff_t>(released_ - lo);
    p.frequency.assign(frequency.begin() + offset, frequency.begin() + offset + static_cast<std::ptrdiff_t>(count));
    p.periodicity.assign(periodicity.begin() + offset,
                         periodicity.begin() + offset + static_cast<std::ptrdiff_t>(count));
    p.confidence.assign(confidence_.begin() + at(released_), confidence_.begin() + at(horizon));
    if (config_.options.want_activations) {
      p.activations.assign(activations_.begin(),
                           activations_.begin() + static_cast<std::ptrdiff_t>(count * kPitchBins));
      EraseFront(activations_, count * kPitchBins);
    }
    if (config_.options.want_embeddings) {
      const auto rows = count * static_cast<size_t>(embedding_size());
      p.embeddings.assign(embeddings_.begin(), embeddings_.begin() + static_cast<std::ptrdiff_t>(rows));
      EraseFront(embeddings_, rows);
    }
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory preparing results");
  }
  released_ = horizon;
  TrimSeries();
  return p;
}

// Forgets the per-frame series of frames no later result reads (a filter reads its half-window
// back), so a long clip holds only a bounded tail of them.
void ResultSide::TrimSeries() {
  if (reach_ < 0) return;  // everything is released at the end
  const int64_t stale = std::max<int64_t>(0, released_ - reach_) - series_base_;
  // Erase once the stale part is the larger one, so trimming costs O(1) per frame.
  if (stale <= 0 || stale < static_cast<int64_t>(confidence_.size() / 2)) return;
  const auto n = static_cast<size_t>(stale);
  EraseFront(confidence_, n);
  EraseFront(frequency_, n);
  EraseFront(periodicity_, n);
  EraseFront(loudness_, n);
  series_base_ += stale;
}

int64_t ResultSide::held_bytes() const {
  // Rows of frames whose path is undecided are held where the network ran, for this session.
  const int64_t rows_elsewhere = config_.viterbi_elsewhere && IsViterbi(config_.options.decoder)
                                     ? (received_ - decoded_) * kPitchBins * static_cast<int64_t>(sizeof(float))
                                     : 0;
  return rows_elsewhere + BytesOf(undecided_rows_) + BytesOf(activations_) + BytesOf(embeddings_) +
         BytesOf(confidence_) + BytesOf(frequency_) + BytesOf(periodicity_) + BytesOf(loudness_);
}

}  // namespace crepe::internal
