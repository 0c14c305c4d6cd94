// The frame side of the pitch pipeline: audio in (any rate, any channels, in pieces of any size),
// normalised 1024-sample frames out as soon as their window is complete. Also measures each
// frame's loudness when a silence gate with a fixed reference asks for it, and, for a gate
// relative to the whole clip, keeps the clip's 16 kHz signal until the end.
// Shared by PitchSession (and through it by Predictor and the service). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "crepe/frames.h"
#include "crepe/pitch_session.h"
#include "crepe/status.h"

namespace crepe::audio_internal {
class KaiserBestStream;
}

namespace crepe::internal {

class FrameSide {
 public:
  // `config` is validated by the caller (PitchSession::Make).
  static Result<std::unique_ptr<FrameSide>> Make(const SessionConfig& config);
  ~FrameSide();
  FrameSide(const FrameSide&) = delete;
  FrameSide& operator=(const FrameSide&) = delete;

  Status PushAudio(const float* interleaved, int64_t frames);
  Status Finish();

  int64_t frames_ready() const;
  // Up to max_frames normalised frames into `out`; `*first` gets the first one's index. When a
  // fixed-reference gate is set, each frame's loudness (dB) is appended to `loudness`.
  int64_t TakeFrames(float* out, int64_t max_frames, int64_t* first, std::vector<float>* loudness);
  // The same frames as windows of the signal, not normalised (PitchSession::TakeWindows).
  int64_t TakeWindows(std::vector<float>* samples, std::vector<int64_t>* starts, int64_t max_frames, int64_t* first,
                      std::vector<float>* loudness);

  // After Finish, for a silence gate relative to the clip's loudest bin: every frame's loudness.
  std::vector<float> ClipLoudness() const;

  bool finished() const { return finished_; }
  int64_t total_frames() const { return grid_ ? grid_->size() : -1; }
  int64_t frames_taken() const { return next_frame_; }
  int64_t input_frames() const { return input_frames_; }
  // Bytes of audio held (resampler input, the 16 kHz signal not yet cut).
  int64_t held_bytes() const;

 private:
  explicit FrameSide(const SessionConfig& config);
  Status FeedResampler(std::vector<float> mono, bool final);
  int64_t FramesAvailable() const;
  void TrimSignal();
  int64_t signal_end() const { return signal_base_ + static_cast<int64_t>(signal_.size()); }

  SessionConfig config_;
  FrameGrid probe_;  // Start() and Time() of every frame, before the length is known
  bool keep_all_audio_ = false;
  bool gate_each_frame_ = false;
  int64_t input_frames_ = 0;
  std::unique_ptr<audio_internal::KaiserBestStream> kaiser_;
  std::vector<float> pending_input_;  // soxr: the whole mono input, resampled at the end
  std::vector<float> signal_;         // the 16 kHz signal [signal_base_, signal_end())
  int64_t signal_base_ = 0;
  bool finished_ = false;
  std::optional<FrameGrid> grid_;  // the real grid, once the length is known
  int64_t next_frame_ = 0;
};

}  // namespace crepe::internal
