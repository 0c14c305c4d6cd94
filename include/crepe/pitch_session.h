// Pitch estimation of one clip as a flow, for callers that run the network themselves (the
// service's batcher pools the frames of many sessions into shared batches). Audio goes in piece
// by piece; normalised frames come out as soon as their 1024-sample window is complete; the
// network's outputs go back in; results come out as soon as nothing later can change them.
// Concatenated, the results equal Predictor::Predict's on the same audio and options, bit for
// bit, however the audio was cut.
//
// When a frame's result is final:
// - weighted_argmax / argmax: as soon as its network output is in;
// - viterbi: once every surviving path has merged before it (ViterbiDecoder::TakeDecided);
// - median / mean filters: once the frames within their half-windows are decoded;
// - hysteresis, or a silence gate without a fixed reference: at the end (they depend on the
//   whole clip).
// Predictor drives a session synchronously; the service drives one per call from its worker
// pool, with the network run elsewhere. Internally a frame side (audio to frames) and a result
// side (outputs to results), src/session/frame_side.h and result_side.h.
// Not thread-safe: a caller that shares a session between threads serialises the calls.
#pragma once

#include <cstdint>
#include <memory>

#include "crepe/decode.h"
#include "crepe/predict_options.h"
#include "crepe/prediction.h"
#include "crepe/status.h"

namespace crepe {

struct SessionConfig {
  int sample_rate = 16000;  // of the audio pushed in
  int channels = 1;         // interleaved; mixed down to mono
  PredictOptions options;
  int embedding_width = 0;  // of the model that runs the frames (needed for embeddings)
  // The caller pushes the whole clip before Finish (Predictor does): it is resampled in one go
  // at Finish, by the whole-clip resampler, which uses several threads. Same bits; no frame is
  // ready before Finish.
  bool whole_clip = false;
  // A Viterbi decoder's paths are decided by whoever runs the network (Model's ViterbiRequest,
  // on the device): the decided frames come in through PushDecidedFrames, and the activations
  // are not needed here unless asked for.
  bool viterbi_elsewhere = false;
};

class PitchSession {
 public:
  static Result<std::unique_ptr<PitchSession>> Make(const SessionConfig& config);
  ~PitchSession();
  PitchSession(const PitchSession&) = delete;
  PitchSession& operator=(const PitchSession&) = delete;

  // Interleaved samples, any number of whole frames (none included). Non-finite samples, or
  // more than kMaxAudioFrames in all, are errors.
  Status PushAudio(const float* interleaved, int64_t frames);
  // No more audio: the last windows, which reach into the end padding, become complete.
  Status Finish();

  // Frames whose window is complete and that have not been taken yet.
  int64_t frames_ready() const;
  // Copies up to `max_frames` of them, normalised, into `out` (max_frames x 1024 floats).
  // Returns how many; `*first` gets the index of the first one.
  int64_t TakeFrames(float* out, int64_t max_frames, int64_t* first);
  // The same frames as windows of the 16 kHz signal, for a caller that cuts and normalises them
  // itself (on a GPU: 1024 samples a frame need not cross the bus): `samples` gets the stretch of
  // signal the windows cover (zeros where they reach past the signal) and `starts` each window's
  // first sample in it; not normalised. Returns how many; `*first` as TakeFrames.
  int64_t TakeWindows(std::vector<float>* samples, std::vector<int64_t>* starts, int64_t max_frames, int64_t* first);

  // The network's outputs for the frames taken, in order: activations n x 360; embeddings
  // n x 32 x embedding_width, or null when they were not asked for.
  Status PushNetworkOutput(int64_t first, int64_t n, const float* activations, const float* embeddings);
  // The same, for a caller whose network summarised each frame where it ran (Model's
  // SummaryRequest, with bin_range() for every frame): activations are needed only when
  // needs_activation_rows(), and may be null otherwise. The results are the same bits.
  Status PushSummarizedOutput(int64_t first, int64_t n, const FrameSummary* summaries, const float* activations,
                              const float* embeddings);
  // With viterbi_elsewhere: the next n frames whose path was decided (after their outputs were
  // pushed), summarised at their path's bins (ViterbiRequest::decided).
  Status PushDecidedFrames(const FrameSummary* decided, int64_t n);
  // Whether the frames' activations are needed on the host: asked for, or a Viterbi decoder
  // decoding here.
  bool needs_activation_rows() const;
  // The bins the decoder may choose (from the options' fmin and fmax).
  BinRange bin_range() const;

  // The results that have become final since the last call: rows for frames
  // [*first, *first + frames()). Empty when nothing new is final.
  Result<Prediction> TakeResults(int64_t* first);

  bool finished() const;            // Finish() has been called
  bool complete() const;            // finished, and every frame's result taken
  int64_t total_frames() const;     // -1 until finished
  int64_t frames_taken() const;     // frames handed to the network so far
  int64_t frames_released() const;  // frames whose results have been taken
  int64_t input_frames() const;     // audio frames pushed in so far
  double audio_seconds() const;
  // Memory held for frames not yet released: audio waiting to be cut, Viterbi rows whose path is
  // undecided, and outputs waiting for their results to become final.
  int64_t held_bytes() const;

 private:
  struct State;
  explicit PitchSession(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace crepe
