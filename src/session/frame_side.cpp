#include "session/frame_side.h"

#include <algorithm>
#include <new>
#include <string>
#include <utility>

#include "audio/resample_internal.h"
#include "crepe/audio.h"
#include "crepe/capacity.h"
#include "crepe/postprocess.h"

namespace crepe::internal {
namespace {

// Long enough for any clip: only Start() and Time() of this grid are used before the end.
constexpr int64_t kUnboundedSamples = int64_t{1} << 52;

}  // namespace

FrameSide::FrameSide(const SessionConfig& config) : config_(config) {}
FrameSide::~FrameSide() = default;

Result<std::unique_ptr<FrameSide>> FrameSide::Make(const SessionConfig& config) {
  std::unique_ptr<FrameSide> f(new FrameSide(config));
  const PredictOptions& o = config.options;
  CREPE_ASSIGN_OR_RETURN(f->probe_, FrameGrid::Make(kUnboundedSamples, config.sample_rate, o.hop, o.center));
  f->keep_all_audio_ = o.post.silence_db && !o.post.silence_reference_db;
  f->gate_each_frame_ = o.post.silence_db && o.post.silence_reference_db;
  if (config.sample_rate != kSampleRate && o.resampler == ResamplerKind::kKaiserBest && !config.whole_clip) {
    CREPE_ASSIGN_OR_RETURN(f->kaiser_, audio_internal::KaiserBestStream::Make(config.sample_rate, kSampleRate));
  }
  return f;
}

Status FrameSide::FeedResampler(std::vector<float> mono, bool final) {
  if (config_.sample_rate == kSampleRate) {
    signal_.insert(signal_.end(), mono.begin(), mono.end());
    return Status::Ok();
  }
  if (kaiser_) {
    CREPE_RETURN_IF_ERROR(kaiser_->Push(mono.data(), static_cast<int64_t>(mono.size())));
    return kaiser_->Drain(final, signal_);
  }
  // Resampled in one go at the end: a whole clip (faster), or libsoxr, whose output depends on how
  // its input is cut.
  pending_input_.insert(pending_input_.end(), mono.begin(), mono.end());
  if (!final) return Status::Ok();
  CREPE_ASSIGN_OR_RETURN(std::vector<float> resampled,
                         ResampleTo16k(std::move(pending_input_), config_.sample_rate, config_.options.resampler));
  pending_input_ = {};
  signal_.insert(signal_.end(), resampled.begin(), resampled.end());
  return Status::Ok();
}

Status FrameSide::PushAudio(const float* interleaved, int64_t frames) {
  if (finished_) return FailedPreconditionError("audio pushed after the end of the clip");
  if (frames == 0) return Status::Ok();
  if (frames < 0 || interleaved == nullptr) return InvalidArgumentError("invalid audio chunk");
  if (input_frames_ + frames > kMaxAudioFrames) {
    return InvalidArgumentError("audio longer than the limit of " + std::to_string(kMaxAudioFrames) + " frames");
  }
  // Positions in errors count from the start of the clip, not of this piece.
  CREPE_RETURN_IF_ERROR(ValidateAudio(interleaved, frames, config_.sample_rate, config_.channels, input_frames_));
  try {
    CREPE_RETURN_IF_ERROR(FeedResampler(MixToMono(interleaved, frames, config_.channels), false));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory buffering audio");
  }
  input_frames_ += frames;
  return Status::Ok();
}

Status FrameSide::Finish() {
  if (finished_) return FailedPreconditionError("the clip was already finished");
  if (input_frames_ == 0) return InvalidArgumentError("no audio (0 frames)");
  try {
    CREPE_RETURN_IF_ERROR(FeedResampler({}, true));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory resampling the clip");
  }
  const PredictOptions& o = config_.options;
  CREPE_ASSIGN_OR_RETURN(grid_, FrameGrid::Make(signal_end(), config_.sample_rate, o.hop, o.center));
  finished_ = true;
  return Status::Ok();
}

// Frames whose window lies inside the signal received so far (all of them once finished).
int64_t FrameSide::FramesAvailable() const {
  if (grid_) return grid_->size();
  const PredictOptions& o = config_.options;
  auto partial = FrameGrid::Make(signal_end(), config_.sample_rate, o.hop, o.center);
  if (!partial.ok()) return 0;
  int64_t n = partial->size();
  while (n > 0 && probe_.Start(n - 1) + kFrameLength > signal_end()) --n;
  return n;
}

int64_t FrameSide::frames_ready() const { return std::max<int64_t>(0, FramesAvailable() - next_frame_); }

void FrameSide::TrimSignal() {
  if (keep_all_audio_) return;
  const int64_t keep_from = std::max<int64_t>(0, probe_.Start(next_frame_));
  const int64_t stale = keep_from - signal_base_;
  // Erase once the stale part is the larger one, so trimming costs O(1) per sample.
  if (stale > 0 && stale >= static_cast<int64_t>(signal_.size() / 2)) {
    const int64_t erased = std::min<int64_t>(stale, static_cast<int64_t>(signal_.size()));
    signal_.erase(signal_.begin(), signal_.begin() + static_cast<std::ptrdiff_t>(erased));
    signal_base_ += erased;
  }
}

int64_t FrameSide::TakeFrames(float* out, int64_t max_frames, int64_t* first, std::vector<float>* loudness) {
  *first = next_frame_;
  const int64_t n = std::max<int64_t>(0, std::min(max_frames, frames_ready()));
  for (int64_t i = 0; i < n; ++i) {
    float* frame = out + i * kFrameLength;
    ExtractFrame(signal_.data(), static_cast<int64_t>(signal_.size()), probe_.Start(next_frame_ + i) - signal_base_,
                 frame);
    if (gate_each_frame_ && loudness != nullptr) {
      loudness->push_back(AWeightedWindowLoudness(frame, *config_.options.post.silence_reference_db));
    }
    NormaliseFrame(frame);
  }
  next_frame_ += n;
  TrimSignal();
  return n;
}

int64_t FrameSide::TakeWindows(std::vector<float>* samples, std::vector<int64_t>* starts, int64_t max_frames,
                               int64_t* first, std::vector<float>* loudness) {
  *first = next_frame_;
  samples->clear();
  starts->clear();
  const int64_t n = std::max<int64_t>(0, std::min(max_frames, frames_ready()));
  if (n == 0) return 0;
  // The stretch [lo, hi) of the signal the n windows cover, in signal coordinates.
  const int64_t lo = probe_.Start(next_frame_) - signal_base_;
  const int64_t hi = probe_.Start(next_frame_ + n - 1) - signal_base_ + kFrameLength;
  samples->resize(static_cast<size_t>(hi - lo));
  ExtractSpan(signal_.data(), static_cast<int64_t>(signal_.size()), lo, hi - lo, samples->data());
  std::vector<float> frame;
  if (gate_each_frame_ && loudness != nullptr) frame.resize(kFrameLength);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t start = probe_.Start(next_frame_ + i) - signal_base_ - lo;
    starts->push_back(start);
    if (!frame.empty()) {
      std::copy_n(samples->data() + start, kFrameLength, frame.data());
      loudness->push_back(AWeightedWindowLoudness(frame.data(), *config_.options.post.silence_reference_db));
    }
  }
  next_frame_ += n;
  TrimSignal();
  return n;
}

std::vector<float> FrameSide::ClipLoudness() const {
  if (!grid_ || !keep_all_audio_) return {};
  return AWeightedLoudness(signal_.data(), signal_end(), *grid_);
}

int64_t FrameSide::held_bytes() const {
  return static_cast<int64_t>((signal_.capacity() + pending_input_.capacity()) * sizeof(float));
}

}  // namespace crepe::internal
