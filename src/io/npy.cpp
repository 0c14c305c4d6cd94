// .npy reading (float32/float64, little-endian, C order, format 1.0-3.0) and writing (float32,
// format 1.0, byte-for-byte what numpy.save writes).

#include <cctype>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "crepe/file_io.h"

namespace crepe {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLength = 6;
constexpr size_t kArrayAlign = 64;            // numpy.lib.format.ARRAY_ALIGN
constexpr size_t kGrowthAxisMaxDigits = 21;   // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
constexpr size_t kMaxHeaderLength = 1 << 20;  // far more than any real header

bool IsLittleEndianHost() {
  const uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

uint32_t LoadLittleEndian(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A tiny reader for the Python dict literal in a .npy header, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  explicit HeaderParser(const std::string& text) : text_(text) {}

  Status Parse(std::string* descr, bool* fortran_order, std::vector<int64_t>* shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      std::string key;
      CREPE_RETURN_IF_ERROR(ParseString(&key));
      SkipSpace();
      if (!Consume(':')) return Error("expected ':' after '" + key + "'");
      SkipSpace();
      if (key == "descr") {
        CREPE_RETURN_IF_ERROR(ParseString(descr));
        have_descr = true;
      } else if (key == "fortran_order") {
        if (ConsumeWord("True")) {
          *fortran_order = true;
        } else if (ConsumeWord("False")) {
          *fortran_order = false;
        } else {
          return Error("fortran_order is neither True nor False");
        }
        have_order = true;
      } else if (key == "shape") {
        CREPE_RETURN_IF_ERROR(ParseShape(shape));
        have_shape = true;
      } else {
        return Error("unexpected key '" + key + "'");
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing characters after the dictionary");
    if (!have_descr || !have_order || !have_shape) return Error("missing 'descr', 'fortran_order' or 'shape'");
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgumentError("malformed .npy header (" + what + " at offset " + std::to_string(pos_) + ")");
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(const char* word) {
    const size_t n = std::strlen(word);
    if (text_.compare(pos_, n, word) == 0) {
      pos_ += n;
      return true;
    }
    return false;
  }
  Status ParseString(std::string* out) {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return Error("expected a string");
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string::npos) return Error("unterminated string");
    *out = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return Status::Ok();
  }
  Status ParseShape(std::vector<int64_t>* shape) {
    shape->clear();
    if (!Consume('(')) return Error("expected '(' for the shape");
    while (true) {
      SkipSpace();
      if (Consume(')')) return Status::Ok();
      if (pos_ >= text_.size() || !std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        return Error("expected a non-negative dimension");
      }
      int64_t v = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        const int digit = text_[pos_++] - '0';
        if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) return Error("dimension too large");
        v = v * 10 + digit;
      }
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 longs
      shape->push_back(v);
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume(')')) return Status::Ok();
      return Error("expected ',' or ')' in the shape");
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
};

// Parses the bytes of a .npy file; `name` (a path, or a label) is what the errors call it.
Result<NpyArray> DecodeNpyImpl(std::string_view bytes, const std::string& name) {
  const std::string quoted = "'" + name + "'";
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t file_size = bytes.size();
  if (file_size < 10 || std::memcmp(p, kMagic, kMagicLength) != 0) {
    return InvalidArgumentError(quoted + " is not a .npy file (bad magic string)");
  }
  const int major = p[6];
  const int minor = p[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    return InvalidArgumentError(quoted + " has unsupported .npy format version " + std::to_string(major) + "." +
                                std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  size_t header_length = LoadLittleEndian(p + 8, 2);
  size_t header_start = 10;
  if (major >= 2) {
    if (file_size < 12) return DataLossError(quoted + " is truncated");
    header_length = LoadLittleEndian(p + 8, 4);
    header_start = 12;
  }
  if (header_length > kMaxHeaderLength || header_start + header_length > file_size) {
    return DataLossError(quoted + " is truncated or corrupt: its header claims " + std::to_string(header_length) +
                         " bytes");
  }
  const std::string header(bytes.substr(header_start, header_length));
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  Status parsed = HeaderParser(header).Parse(&descr, &fortran_order, &shape);
  if (!parsed.ok()) return parsed.WithContext(quoted);
  if (fortran_order) {
    return InvalidArgumentError(quoted + " is in Fortran order; only C-order arrays are supported");
  }
  size_t item_size = 0;
  if (descr == "<f4") {
    item_size = 4;
  } else if (descr == "<f8") {
    item_size = 8;
  } else {
    return InvalidArgumentError(quoted + " has unsupported dtype '" + descr +
                                "' (supported: little-endian float32 '<f4' and float64 '<f8')");
  }
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d) / item_size) {
      return InvalidArgumentError(quoted + " declares an impossibly large shape");
    }
    count *= static_cast<uint64_t>(d);
  }
  const uint64_t data_bytes = count * item_size;
  const uint64_t available = file_size - (header_start + header_length);
  if (data_bytes > available) {
    return DataLossError(quoted + " is truncated: its shape needs " + std::to_string(data_bytes) +
                         " bytes of data but only " + std::to_string(available) + " are present");
  }
  if (count > std::numeric_limits<size_t>::max() / item_size) return ResourceExhaustedError("array too large");

  NpyArray array;
  array.shape = shape;
  const unsigned char* raw = p + header_start + header_length;
  array.data.resize(static_cast<size_t>(count));
  const bool little = IsLittleEndianHost();
  for (size_t i = 0; i < array.data.size(); ++i) {
    unsigned char word[8];
    std::memcpy(word, raw + i * item_size, item_size);
    if (!little) {
      for (size_t a = 0, b = item_size - 1; a < b; ++a, --b) std::swap(word[a], word[b]);
    }
    if (item_size == 4) {
      float f;
      std::memcpy(&f, word, 4);
      array.data[i] = f;
    } else {
      double d;
      std::memcpy(&d, word, 8);
      array.data[i] = static_cast<float>(d);
    }
  }
  return array;
}

}  // namespace

Result<NpyArray> DecodeNpy(std::string_view bytes, const std::string& name) {
  try {
    return DecodeNpyImpl(bytes, name);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory reading '" + name + "'");
  } catch (const std::exception& e) {
    return InternalError("reading '" + name + "': " + e.what());
  }
}

Result<NpyArray> ReadNpy(const std::string& path) {
  std::error_code ec;
  const auto file_status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(file_status)) return NotFoundError("no such file: '" + path + "'");
  if (std::filesystem::is_directory(file_status)) return InvalidArgumentError("'" + path + "' is a directory");
  try {
    CREPE_ASSIGN_OR_RETURN(const std::string bytes, ReadFileBytes(path));
    return DecodeNpy(bytes, path);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory reading '" + path + "'");
  }
}

std::string EncodeNpy(const float* data, const std::vector<int64_t>& shape) {
  // numpy.lib.format._write_array_header with version (1, 0).
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) dict += ", ";
    dict += std::to_string(shape[i]);
    count *= shape[i];
  }
  if (shape.size() == 1) dict += ",";
  dict += "), }";
  if (!shape.empty()) {
    const size_t digits = std::to_string(shape[0]).size();
    if (digits < kGrowthAxisMaxDigits) dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  const size_t unpadded = kMagicLength + 2 + 2 + dict.size() + 1;  // + 1 for the final '\n'
  const size_t padding = kArrayAlign - unpadded % kArrayAlign;
  dict.append(padding, ' ');
  dict += '\n';
  const size_t header_length = dict.size();

  std::string out;
  out.reserve(10 + header_length + static_cast<size_t>(count) * 4);
  out.append(kMagic, kMagicLength);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header_length & 0xFF);
  out += static_cast<char>((header_length >> 8) & 0xFF);
  out += dict;
  const bool little = IsLittleEndianHost();
  for (int64_t i = 0; i < count; ++i) {
    char bytes[4];
    std::memcpy(bytes, data + i, 4);
    if (!little) {
      std::swap(bytes[0], bytes[3]);
      std::swap(bytes[1], bytes[2]);
    }
    out.append(bytes, 4);
  }
  return out;
}

}  // namespace crepe
