// The result side of the pitch pipeline: the network's outputs in (in frame order), final
// results out: confidence, decoding (Viterbi incrementally, exactly), post-processing over
// windows wide enough that every released row equals the whole clip's, and the activations and
// embeddings asked for. Shared by PitchSession (and through it by Predictor and the service).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "crepe/frames.h"
#include "crepe/pitch_session.h"
#include "crepe/prediction.h"
#include "crepe/status.h"

namespace crepe::internal {

class ResultSide {
 public:
  // `config` is validated by the caller (PitchSession::Make).
  static Result<std::unique_ptr<ResultSide>> Make(const SessionConfig& config);

  // Loudness (dB) of the next frames, for a gate with a fixed reference (in frame order).
  Status AddLoudness(const std::vector<float>& loudness_db);
  // Outputs for frames [first, first + n): first must be the next frame expected.
  Status PushNetworkOutput(int64_t first, int64_t n, const float* activations, const float* embeddings);
  // The same, summarised where the network ran: activations are read only when
  // needs_activation_rows() (null otherwise is fine).
  Status PushSummarizedOutput(int64_t first, int64_t n, const FrameSummary* summaries, const float* activations,
                              const float* embeddings);
  // viterbi_elsewhere: the next n frames whose path was decided where the network ran.
  Status PushDecidedFrames(const FrameSummary* decided, int64_t n);
  // Whether decoding or the caller needs each frame's 360 activations on the host: the caller
  // asked for them, or a Viterbi path decided here may leave the most active bin.
  bool needs_activation_rows() const { return config_.options.want_activations || viterbi_.has_value(); }
  const BinRange& range() const { return range_; }
  // The clip has `total_frames` frames; `clip_loudness` is every frame's loudness for a gate
  // relative to the clip (empty otherwise).
  Status SetEnd(int64_t total_frames, std::vector<float> clip_loudness);
  Result<Prediction> TakeResults(int64_t* first);

  bool complete() const { return total_ >= 0 && released_ == total_; }
  int64_t received() const { return received_; }
  int64_t released() const { return released_; }
  // Bytes held for frames whose results are not final yet (Viterbi rows, here or where the
  // network ran, activations, embeddings, per-frame series).
  int64_t held_bytes() const;

 private:
  explicit ResultSide(const SessionConfig& config) : config_(config) {}
  void DecodeRows(const float* rows, const std::vector<int>& bins);
  void DecodeSummaries(const FrameSummary* summaries, int64_t n);
  Status AdvanceViterbi();
  void TrimSeries();
  int64_t embedding_size() const { return int64_t{kEmbeddingRows} * config_.embedding_width; }

  SessionConfig config_;
  BinRange range_;
  FrameGrid probe_;
  int64_t reach_ = 0;     // PostProcessingReach: -1 = results wait for the end
  int64_t total_ = -1;    // frames in the clip, once known
  int64_t received_ = 0;  // outputs in for [0, received_)
  int64_t decoded_ = 0;   // decoded [0, decoded_)
  int64_t released_ = 0;  // taken by the caller [0, released_)
  // Per-frame series of frames [series_base_, ...) (a few bytes per frame).
  std::vector<float> confidence_, frequency_, periodicity_, loudness_;
  int64_t series_base_ = 0;
  // Viterbi: activation rows of frames [decoded_, received_), whose path is not yet certain.
  std::optional<ViterbiDecoder> viterbi_;
  std::vector<float> undecided_rows_;
  std::vector<FrameSummary> summaries_;  // scratch for PushNetworkOutput
  // Outputs asked for, rows of frames [released_, received_).
  std::vector<float> activations_, embeddings_;
};

}  // namespace crepe::internal
