#include "json_writer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace crepe::client {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += escaped;
        } else {
          out += c;  // UTF-8 passes through unchanged
        }
    }
  }
  return out + "\"";
}

// Fewest significant digits (up to max_digits) whose text parses back to `value` as read by
// `round_trips`.
template <typename RoundTrips>
std::string Shortest(double value, int max_digits, RoundTrips round_trips) {
  char text[40];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {  // whole numbers read best as such
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
  }
  for (int digits = 1; digits <= max_digits; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (round_trips(text)) break;
  }
  return text;
}

void Indent(std::string& out, int depth) { out.append(static_cast<size_t>(2 * depth), ' '); }

}  // namespace

JsonValue JsonValue::Number(double d) {
  if (!std::isfinite(d)) return Null();  // JSON has no NaN or Inf
  return JsonValue(Kind::kScalar, Shortest(d, 17, [d](const char* t) { return std::strtod(t, nullptr) == d; }));
}

JsonValue JsonValue::Float(float f) {
  if (!std::isfinite(f)) return Null();
  return JsonValue(Kind::kScalar, Shortest(f, 9, [f](const char* t) { return std::strtof(t, nullptr) == f; }));
}

JsonValue JsonValue::String(const std::string& s) { return JsonValue(Kind::kScalar, Quote(s)); }

JsonValue& JsonValue::Set(const std::string& key, JsonValue value) {
  members_.emplace_back(key, std::move(value));
  return *this;
}

JsonValue& JsonValue::Push(JsonValue value) {
  items_.push_back(std::move(value));
  return *this;
}

std::string JsonValue::Dump() const {
  std::string out;
  DumpTo(out, 0);
  return out;
}

void JsonValue::DumpTo(std::string& out, int depth) const {
  if (kind_ == Kind::kScalar) {
    out += scalar_;
    return;
  }
  const bool object = kind_ == Kind::kObject;
  const size_t n = object ? members_.size() : items_.size();
  if (n == 0) {
    out += object ? "{}" : "[]";
    return;
  }
  out += object ? "{\n" : "[\n";
  for (size_t i = 0; i < n; ++i) {
    Indent(out, depth + 1);
    if (object) {
      out += Quote(members_[i].first) + ": ";
      members_[i].second.DumpTo(out, depth + 1);
    } else {
      items_[i].DumpTo(out, depth + 1);
    }
    out += i + 1 < n ? ",\n" : "\n";
  }
  Indent(out, depth);
  out += object ? "}" : "]";
}

}  // namespace crepe::client
