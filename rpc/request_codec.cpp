#include "request_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>

namespace crepe::rpc {
PostProcessOptions ServiceDefaultPostProcessing() {
  PostProcessOptions post;
  post.periodicity_median_window = 3;
  post.threshold = kServiceDefaultVoicingThreshold;
  return post;
}

namespace {

Result<Decoder> DecoderFromWire(v1::Decoder d) {
  switch (d) {
    case v1::DECODER_UNSPECIFIED:  // the service's default, chosen from bench/results/accuracy.md
      return kServiceDefaultDecoder;
    case v1::DECODER_WEIGHTED_ARGMAX:
      return Decoder::kWeightedArgmax;
    case v1::DECODER_ARGMAX:
      return Decoder::kArgmax;
    case v1::DECODER_VITERBI:
      return Decoder::kViterbi;
    case v1::DECODER_VITERBI_CONFIDENCE:
      return Decoder::kViterbiConfidence;
    default:
      return InvalidArgumentError("unknown decoder " + std::to_string(static_cast<int>(d)) +
                                  " (expected ARGMAX, WEIGHTED_ARGMAX, VITERBI or VITERBI_CONFIDENCE)");
  }
}

v1::Decoder DecoderToWire(Decoder d) {
  switch (d) {
    case Decoder::kArgmax:
      return v1::DECODER_ARGMAX;
    case Decoder::kWeightedArgmax:
      return v1::DECODER_WEIGHTED_ARGMAX;
    case Decoder::kViterbi:
      return v1::DECODER_VITERBI;
    case Decoder::kViterbiConfidence:
      return v1::DECODER_VITERBI_CONFIDENCE;
  }
  return v1::DECODER_UNSPECIFIED;
}

Result<ResamplerKind> ResamplerFromWire(v1::Resampler r) {
  switch (r) {
    case v1::RESAMPLER_UNSPECIFIED:
    case v1::RESAMPLER_KAISER_BEST:
      return ResamplerKind::kKaiserBest;
    case v1::RESAMPLER_SOXR_VHQ:
      return ResamplerKind::kSoxrVhq;
    default:
      return InvalidArgumentError("unknown resampler " + std::to_string(static_cast<int>(r)) +
                                  " (expected KAISER_BEST or SOXR_VHQ)");
  }
}

Status DecodePostProcessing(const v1::PostProcessing& in, PostProcessOptions& post) {
  if (in.has_silence_db()) post.silence_db = in.silence_db();
  if (in.has_silence_reference_db()) {
    if (!in.has_silence_db()) {
      return InvalidArgumentError("post.silence_reference_db is set but post.silence_db (the gate itself) is not");
    }
    post.silence_reference_db = in.silence_reference_db();
  }
  post.periodicity_median_window = in.periodicity_median_window();
  post.pitch_mean_window = in.pitch_mean_window();
  if (in.has_voicing_threshold()) post.threshold = in.voicing_threshold();
  if (in.has_hysteresis()) {
    if (in.has_voicing_threshold()) {
      return InvalidArgumentError("post.voicing_threshold and post.hysteresis are alternatives; set one of them");
    }
    HysteresisOptions h;
    const v1::Hysteresis& w = in.hysteresis();
    if (w.has_lower()) h.lower = w.lower();
    if (w.has_upper()) h.upper = w.upper();
    if (w.has_width()) h.width = w.width();
    if (w.has_stds()) h.stds = w.stds();
    post.hysteresis = h;
  }
  return Status::Ok();
}

}  // namespace

Capacity CapacityFromWire(v1::Capacity c) {
  switch (c) {
    case v1::CAPACITY_TINY:
      return Capacity::kTiny;
    case v1::CAPACITY_SMALL:
      return Capacity::kSmall;
    case v1::CAPACITY_MEDIUM:
      return Capacity::kMedium;
    case v1::CAPACITY_LARGE:
      return Capacity::kLarge;
    default:
      return Capacity::kFull;
  }
}

v1::Capacity CapacityToWire(Capacity c) {
  switch (c) {
    case Capacity::kTiny:
      return v1::CAPACITY_TINY;
    case Capacity::kSmall:
      return v1::CAPACITY_SMALL;
    case Capacity::kMedium:
      return v1::CAPACITY_MEDIUM;
    case Capacity::kLarge:
      return v1::CAPACITY_LARGE;
    case Capacity::kFull:
      return v1::CAPACITY_FULL;
  }
  return v1::CAPACITY_UNSPECIFIED;
}

Result<AnalysisRequest> DecodeOptions(const v1::PredictOptions& in) {
  AnalysisRequest r;
  if (in.model() < v1::CAPACITY_TINY || in.model() > v1::CAPACITY_FULL) {
    return InvalidArgumentError(
        in.model() == v1::CAPACITY_UNSPECIFIED
            ? std::string("options.model is not set (choose TINY, SMALL, MEDIUM, LARGE or FULL)")
            : "unknown model capacity " + std::to_string(static_cast<int>(in.model())) +
                  " (choose TINY, SMALL, MEDIUM, LARGE or FULL)");
  }
  r.capacity = CapacityFromWire(in.model());
  PredictOptions& o = r.options;
  switch (in.hop_case()) {
    case v1::PredictOptions::kHopSamples:
      o.hop = HopSpec::Samples(in.hop_samples());
      break;
    case v1::PredictOptions::kHopMs:
      o.hop = HopSpec::Milliseconds(in.hop_ms());
      break;
    default:
      o.hop = HopSpec::Milliseconds(10);
  }
  CREPE_ASSIGN_OR_RETURN(o.decoder, DecoderFromWire(in.decoder()));
  if (in.has_fmin_hz()) o.fmin_hz = in.fmin_hz();
  if (in.has_fmax_hz()) o.fmax_hz = in.fmax_hz();
  o.center = !in.has_center() || in.center();
  CREPE_ASSIGN_OR_RETURN(o.resampler, ResamplerFromWire(in.resampler()));
  if (in.has_post()) {
    CREPE_RETURN_IF_ERROR(DecodePostProcessing(in.post(), o.post));
  } else {
    o.post = ServiceDefaultPostProcessing();
  }
  const v1::OutputSelection& out = in.outputs();
  r.outputs.pitch = !out.has_pitch() || out.pitch();
  r.outputs.periodicity = !out.has_periodicity() || out.periodicity();
  r.outputs.confidence = !out.has_confidence() || out.confidence();
  r.outputs.activations = out.activations();
  r.outputs.embeddings = out.embeddings();
  if (out.tensor_encoding() != v1::TENSOR_ENCODING_FLOAT32 && out.tensor_encoding() != v1::TENSOR_ENCODING_FLOAT16) {
    return InvalidArgumentError("unknown tensor encoding " + std::to_string(static_cast<int>(out.tensor_encoding())));
  }
  r.outputs.float16 = out.tensor_encoding() == v1::TENSOR_ENCODING_FLOAT16;
  o.want_activations = r.outputs.activations;
  o.want_embeddings = r.outputs.embeddings;
  CREPE_RETURN_IF_ERROR(ValidatePredictOptions(o).WithContext("options"));
  return r;
}

void EncodeOptions(const AnalysisRequest& r, v1::PredictOptions* out) {
  const PredictOptions& o = r.options;
  out->set_model(CapacityToWire(r.capacity));
  if (o.hop.unit == HopSpec::Unit::kSamples) {
    out->set_hop_samples(o.hop.value);
  } else {
    out->set_hop_ms(o.hop.value);
  }
  out->set_decoder(DecoderToWire(o.decoder));
  if (o.fmin_hz > 0) out->set_fmin_hz(o.fmin_hz);
  if (o.fmax_hz < std::numeric_limits<double>::infinity()) out->set_fmax_hz(o.fmax_hz);
  out->set_center(o.center);
  out->set_resampler(o.resampler == ResamplerKind::kSoxrVhq ? v1::RESAMPLER_SOXR_VHQ : v1::RESAMPLER_KAISER_BEST);
  v1::PostProcessing* post = out->mutable_post();
  if (o.post.silence_db) post->set_silence_db(*o.post.silence_db);
  if (o.post.silence_reference_db) post->set_silence_reference_db(static_cast<float>(*o.post.silence_reference_db));
  post->set_periodicity_median_window(o.post.periodicity_median_window);
  post->set_pitch_mean_window(o.post.pitch_mean_window);
  if (o.post.threshold) post->set_voicing_threshold(*o.post.threshold);
  if (o.post.hysteresis) {
    v1::Hysteresis* h = post->mutable_hysteresis();
    h->set_lower(o.post.hysteresis->lower);
    h->set_upper(o.post.hysteresis->upper);
    h->set_width(o.post.hysteresis->width);
    h->set_stds(o.post.hysteresis->stds);
  }
  v1::OutputSelection* sel = out->mutable_outputs();
  sel->set_pitch(r.outputs.pitch);
  sel->set_periodicity(r.outputs.periodicity);
  sel->set_confidence(r.outputs.confidence);
  sel->set_activations(r.outputs.activations);
  sel->set_embeddings(r.outputs.embeddings);
  sel->set_tensor_encoding(r.outputs.float16 ? v1::TENSOR_ENCODING_FLOAT16 : v1::TENSOR_ENCODING_FLOAT32);
}

Result<AudioBuffer> DecodePcm(v1::SampleFormat format, int sample_rate, int channels, const std::string& data) {
  if (channels == 0) channels = 1;
  if (channels < 1 || channels > kMaxChannels) {
    return InvalidArgumentError("channels must be between 1 and " + std::to_string(kMaxChannels) + " (got " +
                                std::to_string(channels) + ")");
  }
  if (sample_rate < kMinSampleRate || sample_rate > kMaxSampleRate) {
    return InvalidArgumentError("sample_rate_hz must be between " + std::to_string(kMinSampleRate) + " and " +
                                std::to_string(kMaxSampleRate) + " (got " + std::to_string(sample_rate) + ")");
  }
  size_t width = 0;
  if (format == v1::SAMPLE_FORMAT_FLOAT32) {
    width = 4;
  } else if (format == v1::SAMPLE_FORMAT_INT16) {
    width = 2;
  } else if (format == v1::SAMPLE_FORMAT_UNSPECIFIED) {
    return InvalidArgumentError("PCM sample format is not set (FLOAT32 or INT16)");
  } else {
    return InvalidArgumentError("unknown PCM sample format " + std::to_string(static_cast<int>(format)) +
                                " (expected FLOAT32 or INT16)");
  }
  const size_t frame_bytes = width * static_cast<size_t>(channels);
  if (data.size() % frame_bytes != 0) {
    return InvalidArgumentError(std::to_string(data.size()) + " bytes of PCM are not whole frames of " +
                                std::to_string(channels) + " x " + std::to_string(width) + "-byte samples");
  }
  try {
    AudioBuffer audio;
    audio.sample_rate = sample_rate;
    audio.channels = channels;
    const size_t n = data.size() / width;
    audio.samples.resize(n);
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    if (width == 4) {
      for (size_t i = 0; i < n; ++i) {
        const uint32_t bits = uint32_t{bytes[4 * i]} | uint32_t{bytes[4 * i + 1]} << 8 |
                              uint32_t{bytes[4 * i + 2]} << 16 | uint32_t{bytes[4 * i + 3]} << 24;
        std::memcpy(&audio.samples[i], &bits, 4);
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        const auto v = static_cast<int16_t>(static_cast<uint16_t>(bytes[2 * i] | bytes[2 * i + 1] << 8));
        audio.samples[i] = static_cast<float>(v) / 32768.0f;
      }
    }
    return audio;
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory for " + std::to_string(data.size()) + " bytes of PCM");
  }
}

Result<AudioBuffer> DecodeAudio(const v1::Audio& audio) {
  switch (audio.source_case()) {
    case v1::Audio::kPcm: {
      const v1::PcmAudio& pcm = audio.pcm();
      if (pcm.data().empty()) return InvalidArgumentError("audio.pcm.data is empty");
      CREPE_ASSIGN_OR_RETURN(AudioBuffer buffer,
                             DecodePcm(pcm.format(), pcm.sample_rate_hz(), pcm.channels(), pcm.data()));
      CREPE_RETURN_IF_ERROR(ValidateAudio(buffer.samples.data(), buffer.frames(), buffer.sample_rate, buffer.channels)
                                .WithContext("audio.pcm"));
      return buffer;
    }
    case v1::Audio::kEncoded: {
      Result<AudioBuffer> decoded = DecodeAudioBytes(audio.encoded().data(), audio.encoded().size(), "audio.encoded");
      // A file that cannot be decoded (truncated, corrupt) is the caller's bad input, not data
      // the server lost.
      if (!decoded.ok() && decoded.status().code() == StatusCode::kDataLoss) {
        return InvalidArgumentError(decoded.status().message());
      }
      return decoded;
    }
    default:
      return InvalidArgumentError("no audio in the request (set audio.pcm or audio.encoded)");
  }
}

std::string EncodePcm(const float* samples, size_t n, v1::SampleFormat format) {
  std::string out;
  if (format == v1::SAMPLE_FORMAT_INT16) {
    out.resize(n * 2);
    for (size_t i = 0; i < n; ++i) {
      const long v = std::lrint(static_cast<double>(samples[i]) * 32768.0);
      const auto s = static_cast<uint16_t>(static_cast<int16_t>(std::clamp<long>(v, -32768, 32767)));
      out[2 * i] = static_cast<char>(s & 0xff);
      out[2 * i + 1] = static_cast<char>(s >> 8);
    }
    return out;
  }
  out.resize(n * 4);
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &samples[i], 4);
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

}  // namespace crepe::rpc
