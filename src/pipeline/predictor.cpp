#include "crepe/predictor.h"

#include <cmath>
#include <new>

#include "session/post_chain.h"

namespace crepe {
namespace {

Status PostProcess(const std::vector<float>& audio16k, const FrameGrid& grid, const PostProcessOptions& post,
                   Prediction& p) {
  std::vector<float> loudness;
  if (post.silence_db) {
    loudness = AWeightedLoudness(audio16k.data(), grid.num_samples_16k(), grid, post.silence_reference_db);
  }
  return internal::ApplyPostProcessing(post, loudness, p.frequency, p.periodicity);
}

void AppendDecoded(DecodedPitch&& d, Prediction& p) {
  p.frequency.insert(p.frequency.end(), d.frequency.begin(), d.frequency.end());
  p.confidence.insert(p.confidence.end(), d.confidence.begin(), d.confidence.end());
  p.periodicity.insert(p.periodicity.end(), d.periodicity.begin(), d.periodicity.end());
}

// Decodes p.activations as a whole (Viterbi needs them all), then post-processes; drops the
// activations unless they were asked for.
Result<Prediction> DecodeAllAndPostProcess(const std::vector<float>& audio16k, const FrameGrid& grid,
                                           const BinRange& range, const PredictOptions& options, Prediction& p) {
  CREPE_ASSIGN_OR_RETURN(DecodedPitch d, DecodeActivations(p.activations.data(), grid.size(), options.decoder, range));
  AppendDecoded(std::move(d), p);
  if (!options.want_activations) p.activations = {};
  CREPE_RETURN_IF_ERROR(PostProcess(audio16k, grid, options.post, p));
  return std::move(p);
}

Status ValidateAudioBuffer(const AudioBuffer& audio) {
  if (audio.channels > 0 && audio.samples.size() % static_cast<size_t>(audio.channels) != 0) {
    return InvalidArgumentError(std::to_string(audio.samples.size()) + " samples do not make whole frames of " +
                                std::to_string(audio.channels) + " channels");
  }
  return ValidateAudio(audio.samples.data(), audio.frames(), audio.sample_rate, audio.channels);
}

}  // namespace

Result<Prediction> Predictor::Predict(const AudioBuffer& audio, const PredictOptions& options,
                                      const ProgressCallback& progress) {
  CREPE_RETURN_IF_ERROR(ValidatePredictOptions(options));
  CREPE_RETURN_IF_ERROR(ValidateAudioBuffer(audio));
  try {
    CREPE_ASSIGN_OR_RETURN(const std::vector<float> audio16k,
                           ResampleTo16k(MixToMono(audio.samples.data(), audio.frames(), audio.channels),
                                         audio.sample_rate, options.resampler));
    return Run(audio16k, audio.sample_rate, options, progress);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for " + std::to_string(audio.frames()) + " audio frames");
  }
}

Result<Prediction> Predictor::PredictMono16k(const std::vector<float>& audio16k, int input_sample_rate,
                                             const PredictOptions& options, const ProgressCallback& progress) {
  CREPE_RETURN_IF_ERROR(ValidatePredictOptions(options));
  CREPE_RETURN_IF_ERROR(ValidateAudio(audio16k.data(), static_cast<int64_t>(audio16k.size()), kSampleRate, 1));
  try {
    return Run(audio16k, input_sample_rate, options, progress);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for " + std::to_string(audio16k.size()) + " samples");
  }
}

Result<Prediction> Predictor::Run(const std::vector<float>& audio16k, int input_sample_rate,
                                  const PredictOptions& options, const ProgressCallback& progress) {
  CREPE_ASSIGN_OR_RETURN(const BinRange range, BinRangeFor(options.fmin_hz, options.fmax_hz));
  CREPE_ASSIGN_OR_RETURN(const FrameGrid grid, FrameGrid::Make(static_cast<int64_t>(audio16k.size()), input_sample_rate,
                                                               options.hop, options.center));
  const int64_t total = grid.size();
  const int64_t batch = options.batch_frames;
  const int embedding_width = model_.info().embedding_width;
  const int64_t embedding_size = int64_t{kEmbeddingRows} * embedding_width;
  // Viterbi needs every frame's activations before it can decode; the other decoders work batch
  // by batch, so memory stays bounded by the batch size unless activations are asked for.
  const bool keep_activations = options.want_activations || IsViterbi(options.decoder);

  Prediction p;
  p.embedding_width = embedding_width;
  p.time.resize(static_cast<size_t>(total));
  for (int64_t t = 0; t < total; ++t) p.time[static_cast<size_t>(t)] = grid.Time(t);
  if (keep_activations) p.activations.resize(static_cast<size_t>(total) * kPitchBins);
  if (options.want_embeddings) p.embeddings.resize(static_cast<size_t>(total * embedding_size));
  p.frequency.reserve(static_cast<size_t>(total));
  p.confidence.reserve(static_cast<size_t>(total));
  p.periodicity.reserve(static_cast<size_t>(total));

  std::vector<float> frames(static_cast<size_t>(std::min(batch, total)) * kFrameLength);
  std::vector<float> batch_activations(keep_activations ? 0 : static_cast<size_t>(std::min(batch, total)) * kPitchBins);
  for (int64_t first = 0; first < total; first += batch) {
    const int64_t count = std::min(batch, total - first);
    for (int64_t i = 0; i < count; ++i) {
      float* frame = frames.data() + i * kFrameLength;
      ExtractFrame(audio16k.data(), grid.num_samples_16k(), grid.Start(first + i), frame);
      NormaliseFrame(frame);
    }
    float* act = keep_activations ? p.activations.data() + first * kPitchBins : batch_activations.data();
    float* emb = options.want_embeddings ? p.embeddings.data() + first * embedding_size : nullptr;
    CREPE_RETURN_IF_ERROR(model_.Infer(frames.data(), count, act, emb));
    if (!keep_activations) {
      CREPE_ASSIGN_OR_RETURN(DecodedPitch d, DecodeActivations(act, count, options.decoder, range));
      AppendDecoded(std::move(d), p);
    }
    if (progress) progress(first + count, total);
  }
  if (keep_activations) return DecodeAllAndPostProcess(audio16k, grid, range, options, p);
  CREPE_RETURN_IF_ERROR(PostProcess(audio16k, grid, options.post, p));
  return p;
}

Result<Prediction> PredictFromActivations(const AudioBuffer& audio, const PredictOptions& options,
                                          std::vector<float> activations) {
  CREPE_RETURN_IF_ERROR(ValidatePredictOptions(options));
  if (options.want_embeddings) return InvalidArgumentError("embeddings cannot be computed from activations");
  CREPE_RETURN_IF_ERROR(ValidateAudioBuffer(audio));
  try {
    CREPE_ASSIGN_OR_RETURN(const std::vector<float> audio16k,
                           ResampleTo16k(MixToMono(audio.samples.data(), audio.frames(), audio.channels),
                                         audio.sample_rate, options.resampler));
    CREPE_ASSIGN_OR_RETURN(const BinRange range, BinRangeFor(options.fmin_hz, options.fmax_hz));
    CREPE_ASSIGN_OR_RETURN(const FrameGrid grid, FrameGrid::Make(static_cast<int64_t>(audio16k.size()),
                                                                 audio.sample_rate, options.hop, options.center));
    const int64_t total = grid.size();
    if (activations.size() != static_cast<size_t>(total) * kPitchBins) {
      return InvalidArgumentError("the activations hold " + std::to_string(activations.size() / kPitchBins) +
                                  " frames of 360 (" + std::to_string(activations.size()) +
                                  " values) but this audio with these hop and centring options has " +
                                  std::to_string(total) + " frames");
    }
    for (float v : activations) {
      if (!(v >= 0.0f && v <= 1.0f)) return InvalidArgumentError("activations must be finite and within [0, 1]");
    }
    Prediction p;
    p.time.resize(static_cast<size_t>(total));
    for (int64_t t = 0; t < total; ++t) p.time[static_cast<size_t>(t)] = grid.Time(t);
    p.activations = std::move(activations);
    return DecodeAllAndPostProcess(audio16k, grid, range, options, p);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for " + std::to_string(audio.frames()) + " audio frames");
  }
}

}  // namespace crepe
