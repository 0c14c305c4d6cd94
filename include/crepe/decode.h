// From the network's 360-bin activations to pitch: the original CREPE's decoders, with an
// optional frequency range, and no random dither anywhere.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "crepe/status.h"

namespace crepe {

enum class Decoder {
  kArgmax,          // centre frequency of the most active bin
  kWeightedArgmax,  // the original's local average of the 9 bins around the most active one
  kViterbi,         // the original's HMM path over argmax observations, then the local average
  // The same HMM, but each observation counts in proportion to its activation: in silence and
  // noise (activations near 0) the path is free to move, so it is already in place at a note's
  // onset instead of climbing there from wherever the noise pulled it, at most 220 cents a frame.
  // Identical to kViterbi where the observed bins' activations are 1.
  kViterbiConfidence,
};
// "argmax" | "weighted_argmax" | "viterbi" | "viterbi_confidence"
Result<Decoder> ParseDecoder(std::string_view name);
std::string_view DecoderName(Decoder d);
// Whether the decoder needs the whole sequence (an HMM path).
bool IsViterbi(Decoder d);

// Bin b is centred on cents(b) = 20 b + 1997.3794084376191 (cents above 10 Hz).
double BinToCents(double bin);
double CentsToHz(double cents);
double HzToCents(double hz);
double BinToHz(int bin);

// The bins a decoder may choose: every bin whose centre frequency lies in [fmin, fmax].
struct BinRange {
  int lo = 0;
  int hi = 359;  // inclusive
  int size() const { return hi - lo + 1; }
};
// fmin = 0 and fmax = +inf (the defaults) allow all 360 bins, as the original does.
Result<BinRange> BinRangeFor(double fmin_hz, double fmax_hz);

struct DecodedPitch {
  std::vector<float> frequency;    // Hz; NaN where undefined (the original writes 0)
  std::vector<float> confidence;   // the original's: max activation over all 360 bins
  std::vector<float> periodicity;  // torchcrepe's: activation at the decoded bin
  std::vector<int> bins;           // decoded bin per frame
};

// activations: frames x 360, row-major.
Result<DecodedPitch> DecodeActivations(const float* activations, int64_t frames, Decoder decoder,
                                       const BinRange& range);

// Per-frame pieces of DecodeActivations, for callers that decode frame by frame (a stream):
// the most active bin within `range` (the first of equals), the largest activation, and the
// frequency (Hz, NaN if undefined) and periodicity of a frame decoded at `bin`.
int ArgmaxBin(const float* row, const BinRange& range);
float MaxActivation(const float* row);
void DecodeAtBin(const float* row, int bin, Decoder decoder, const BinRange& range, float* frequency,
                 float* periodicity);

// The original's to_local_average_cents for one row around `center`, limited to `range`:
// weights are the raw activations of bins [center-4, center+4]. NaN if they sum to 0.
double LocalAverageCents(const float* row, int center, const BinRange& range);

// What decoding needs of a frame's 360 activations unless the decoder is an HMM whose path may
// leave the most active bin: computed where the activations are (on a GPU, so that these bytes
// rather than 1440 come back), and here by SummarizeFrame; both give the same bits.
struct FrameSummary {
  int32_t bin = 0;                 // ArgmaxBin(row, range)
  float bin_activation = 0;        // row[bin]: the periodicity, and the Viterbi observation's weight
  float confidence = 0;            // MaxActivation(row)
  double local_average_cents = 0;  // LocalAverageCents(row, bin, range), NaN if undefined
};
// `with_cents`: compute local_average_cents (only kWeightedArgmax reads it; NaN otherwise).
FrameSummary SummarizeFrame(const float* row, const BinRange& range, bool with_cents = true);
// A frame decoded by kArgmax or kWeightedArgmax from its summary: DecodeAtBin's values exactly.
void DecodeSummary(const FrameSummary& summary, Decoder decoder, float* frequency, float* periodicity);

// Frame summaries asked of whatever runs the network (Model::Infer, the server's runners):
// frame i's within ranges[i], written to summaries[i]. A caller that gets summaries and does not
// need the activations on the host passes a null activation buffer.
struct SummaryRequest {
  const BinRange* ranges = nullptr;
  FrameSummary* summaries = nullptr;
};

// Viterbi paths decided where the network runs (Model::Infer, the server's runners), for a caller
// that streams the frames of many clips through one model in shared batches: each clip is a
// stream, whose scores and undecided activation rows stay where the network ran. A stream's
// frames are rows [row, row + count) of one call, in order; the first part (frame 0) opens the
// stream, the one marked last (count may be 0) finishes its path and closes it.
struct ViterbiPart {
  uint64_t stream = 0;                  // the caller's id for the clip, never reused
  Decoder decoder = Decoder::kViterbi;  // kViterbi or kViterbiConfidence
  BinRange range;
  int64_t frame = 0;  // the clip's index of the part's first frame
  int64_t row = 0;
  int64_t count = 0;
  bool last = false;
};
struct ViterbiRequest {
  std::vector<ViterbiPart> parts;
  std::vector<uint64_t> forget;  // streams abandoned before their last part: dropped after the call
  // Out, one per part: the frames of its stream whose path became certain (oldest first), each
  // summarised at its path's bin (bin, bin_activation, local_average_cents; DecodeSummary gives
  // DecodeAtBin's values); confidence is not filled in.
  std::vector<std::vector<FrameSummary>>* decided = nullptr;
};

// The pieces of the original's HMM, shared by ViterbiDecoder and the batched device decoder.
// Log emission probabilities of one frame: of its observed bin, and of any other bin.
struct ViterbiEmission {
  double hit = 0, miss = 0;
};
ViterbiEmission ViterbiEmissionFor(bool weighted, float observed_activation);
// Log transition probabilities among `states` states, row-major (from, to); -inf outside the band.
std::vector<double> ViterbiLogTransitions(int states);
inline constexpr int kViterbiBandHalfWidth = 11;  // transition weight max(12 - |i - j|, 0)

// The back-pointers of a Viterbi forward pass (however it runs: ViterbiDecoder here, or batched
// on a device) and the part of the most likely path they decide, with hmmlearn's tie rules.
// Bounded: only the rows of frames whose path is not yet certain are kept.
class ViterbiPath {
 public:
  explicit ViterbiPath(const BinRange& range) : range_(range), states_(range.size()) {}
  // Room for the next frame's row: its best predecessor of each of the range's states, as an
  // offset in [-11, 11] (frame 0's row is unused). Null when out of memory.
  int8_t* AppendFrame();
  // The part of the most likely path that no later frame can change: the frames up to the last
  // point where every state's best path has merged into one. Returns the bins of frames
  // [decided(), new decided()) and forgets their back-pointers. Exact, not a fixed-lag guess:
  // Finish() continues the very same path.
  Result<std::vector<int>> TakeDecided();
  // The rest of the path (frames [decided(), frames())), ending in `last_state` (0-based within
  // the range: the first best state of the last frame); resets.
  Result<std::vector<int>> Finish(int last_state);
  int64_t frames() const { return frames_; }
  int64_t decided() const { return decided_; }
  int64_t held_bytes() const { return static_cast<int64_t>(backpointer_.capacity()); }

 private:
  BinRange range_;
  int states_;
  std::vector<int8_t> backpointer_;  // frames [backpointer_base_, frames_) x states (frame 0 unused)
  int64_t backpointer_base_ = 0;
  int64_t frames_ = 0;
  int64_t decided_ = 0;
  std::vector<int> merge_states_;  // scratch for TakeDecided
  std::vector<int64_t> merge_seen_;
  int64_t merge_generation_ = 0;
};

// The original's Viterbi (hmmlearn CategoricalHMM decode) over observations given as bins.
// Exact most-likely path, with hmmlearn's tie rules; states restricted to `range`.
class ViterbiDecoder {
 public:
  // `weighted`: the observation of each frame counts in proportion to its activation
  // (Decoder::kViterbiConfidence); otherwise fully, as in the original.
  static Result<ViterbiDecoder> Make(const BinRange& range, bool weighted = false);
  // One frame: its argmax bin, and that bin's activation (used only when weighted). Fails only
  // when out of memory.
  Status Push(int observed_bin, float observed_activation = 1.0f);
  // ViterbiPath::TakeDecided.
  Result<std::vector<int>> TakeDecided() { return path_.TakeDecided(); }
  // The rest of the most likely path (frames [decided(), frames())), bins in `range`; resets the
  // decoder.
  Result<std::vector<int>> Finish();
  int64_t frames() const { return path_.frames(); }
  int64_t decided() const { return path_.decided(); }

 private:
  ViterbiDecoder(const BinRange& range, bool weighted);
  static Status CheckRange(const BinRange& range);

  BinRange range_;
  int states_;
  std::vector<double> log_trans_;  // states x states, -inf outside the band
  std::vector<double> score_;      // current log likelihood per state
  std::vector<double> next_;       // scratch
  ViterbiPath path_;
  bool weighted_ = false;
  ViterbiEmission emission_;
  double log_start_ = 0;
};

}  // namespace crepe
