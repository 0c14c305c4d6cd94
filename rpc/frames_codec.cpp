#include "frames_codec.h"

#include <cmath>
#include <cstring>
#include <new>
#include <string>

#include "crepe/capacity.h"

namespace crepe::rpc {
namespace {

void PutLe32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void EncodeTensor(const float* data, int64_t count, std::initializer_list<int64_t> shape, bool float16,
                  v1::Tensor* out) {
  for (int64_t d : shape) out->add_shape(d);
  out->set_encoding(float16 ? v1::TENSOR_ENCODING_FLOAT16 : v1::TENSOR_ENCODING_FLOAT32);
  std::string* bytes = out->mutable_data();
  bytes->resize(static_cast<size_t>(count) * (float16 ? 2 : 4));
  char* p = bytes->data();
  for (int64_t i = 0; i < count; ++i) {
    if (float16) {
      const uint16_t h = FloatToHalf(data[i]);
      p[2 * i] = static_cast<char>(h & 0xff);
      p[2 * i + 1] = static_cast<char>(h >> 8);
    } else {
      uint32_t bits;
      std::memcpy(&bits, &data[i], 4);
      PutLe32(bits, p + 4 * i);
    }
  }
}

Status DecodeTensor(const v1::Tensor& t, int64_t frames, int64_t row_size, const char* what, std::vector<float>& out) {
  int64_t count = 1;
  for (int64_t d : t.shape()) count *= d;
  if (t.shape_size() == 0 || t.shape(0) != frames || count != frames * row_size) {
    return InvalidArgumentError(std::string(what) + " tensor does not have one row of " + std::to_string(row_size) +
                                " values per frame");
  }
  const bool half = t.encoding() == v1::TENSOR_ENCODING_FLOAT16;
  if (!half && t.encoding() != v1::TENSOR_ENCODING_FLOAT32) {
    return InvalidArgumentError(std::string(what) + " tensor has an unknown encoding");
  }
  const size_t width = half ? 2 : 4;
  if (t.data().size() != static_cast<size_t>(count) * width) {
    return InvalidArgumentError(std::string(what) + " tensor holds " + std::to_string(t.data().size()) +
                                " bytes, expected " + std::to_string(static_cast<size_t>(count) * width));
  }
  const auto* b = reinterpret_cast<const unsigned char*>(t.data().data());
  const size_t base = out.size();
  out.resize(base + static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    float v;
    if (half) {
      v = HalfToFloat(static_cast<uint16_t>(b[2 * i] | b[2 * i + 1] << 8));
    } else {
      const uint32_t bits = uint32_t{b[4 * i]} | uint32_t{b[4 * i + 1]} << 8 | uint32_t{b[4 * i + 2]} << 16 |
                            uint32_t{b[4 * i + 3]} << 24;
      std::memcpy(&v, &bits, 4);
    }
    out[base + static_cast<size_t>(i)] = v;
  }
  return Status::Ok();
}

template <typename Field, typename T>
Status AppendSeries(const Field& in, int64_t frames, const char* what, std::vector<T>& out) {
  if (in.empty()) return Status::Ok();
  if (in.size() != frames) {
    return InvalidArgumentError(std::string(what) + " has " + std::to_string(in.size()) + " values for " +
                                std::to_string(frames) + " frames");
  }
  out.insert(out.end(), in.begin(), in.end());
  return Status::Ok();
}

}  // namespace

uint16_t FloatToHalf(float value) {
  uint32_t f;
  std::memcpy(&f, &value, 4);
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // Inf or NaN (NaN keeps a quiet payload bit)
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: Inf
  if (abs < 0x38800000u) {                                               // below the smallest normal half
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);           // rounds to zero
    const uint32_t exponent = abs >> 23;
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exponent;  // 14..24
    const uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1);
    const uint32_t midpoint = 1u << (shift - 1);
    const uint32_t rounded = half + ((rest > midpoint || (rest == midpoint && (half & 1u))) ? 1u : 0u);
    return static_cast<uint16_t>(sign | rounded);
  }
  // Normal: rebias the exponent, round the mantissa to 10 bits (to nearest, ties to even).
  const uint32_t rebased = abs - 0x38000000u;
  const uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal half: normalise
    int e = -1;
    do {
      ++e;
      mantissa <<= 1;
    } while ((mantissa & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

void EncodeFrames(const Prediction& p, int64_t first_frame, const WireOutputs& outputs, v1::PitchFrames* out) {
  const int64_t n = p.frames();
  out->set_first_frame(first_frame);
  out->mutable_time_s()->Add(p.time.begin(), p.time.end());
  if (outputs.pitch) out->mutable_frequency_hz()->Add(p.frequency.begin(), p.frequency.end());
  if (outputs.periodicity) out->mutable_periodicity()->Add(p.periodicity.begin(), p.periodicity.end());
  if (outputs.confidence) out->mutable_confidence()->Add(p.confidence.begin(), p.confidence.end());
  if (outputs.activations && static_cast<int64_t>(p.activations.size()) == n * kPitchBins) {
    EncodeTensor(p.activations.data(), n * kPitchBins, {n, kPitchBins}, outputs.float16, out->mutable_activations());
  }
  const int64_t embedding_size = int64_t{kEmbeddingRows} * p.embedding_width;
  if (outputs.embeddings && embedding_size > 0 && static_cast<int64_t>(p.embeddings.size()) == n * embedding_size) {
    EncodeTensor(p.embeddings.data(), n * embedding_size, {n, kEmbeddingRows, p.embedding_width}, outputs.float16,
                 out->mutable_embeddings());
  }
}

Status AppendFrames(const v1::PitchFrames& in, Prediction& p) {
  if (in.first_frame() != p.frames()) {
    return DataLossError("frames out of order: expected frame " + std::to_string(p.frames()) + ", got " +
                         std::to_string(in.first_frame()));
  }
  const int64_t n = in.time_s_size();
  try {
    CREPE_RETURN_IF_ERROR(AppendSeries(in.frequency_hz(), n, "frequency_hz", p.frequency));
    CREPE_RETURN_IF_ERROR(AppendSeries(in.periodicity(), n, "periodicity", p.periodicity));
    CREPE_RETURN_IF_ERROR(AppendSeries(in.confidence(), n, "confidence", p.confidence));
    if (in.has_activations()) {
      CREPE_RETURN_IF_ERROR(DecodeTensor(in.activations(), n, kPitchBins, "activations", p.activations));
    }
    if (in.has_embeddings()) {
      const v1::Tensor& t = in.embeddings();
      if (t.shape_size() != 3 || t.shape(1) != kEmbeddingRows || t.shape(2) <= 0 ||
          (p.embedding_width != 0 && t.shape(2) != p.embedding_width)) {
        return InvalidArgumentError("embeddings tensor is not frames x 32 x width");
      }
      p.embedding_width = static_cast<int>(t.shape(2));
      CREPE_RETURN_IF_ERROR(
          DecodeTensor(t, n, int64_t{kEmbeddingRows} * p.embedding_width, "embeddings", p.embeddings));
    }
    p.time.insert(p.time.end(), in.time_s().begin(), in.time_s().end());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory receiving " + std::to_string(n) + " frames");
  }
  return Status::Ok();
}

}  // namespace crepe::rpc
