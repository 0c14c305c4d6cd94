// A small ordered JSON value, for the sidecar files crepe-client writes: keys stay in the order
// they were added, so the files read well and diff cleanly. (Reading JSON back uses protobuf's
// parser; see sidecar.cpp.)
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace crepe::client {

class JsonValue {
 public:
  static JsonValue Null() { return JsonValue(Kind::kScalar, "null"); }
  static JsonValue Bool(bool b) { return JsonValue(Kind::kScalar, b ? "true" : "false"); }
  // Shortest text that reads back as the same double (integers without a fraction).
  static JsonValue Number(double d);
  // Shortest text that reads back as the same float (0.3f is written 0.3, not 0.30000001...).
  static JsonValue Float(float f);
  static JsonValue String(const std::string& s);
  static JsonValue Array() { return JsonValue(Kind::kArray, ""); }
  static JsonValue Object() { return JsonValue(Kind::kObject, ""); }

  JsonValue& Set(const std::string& key, JsonValue value);  // objects
  JsonValue& Push(JsonValue value);                         // arrays

  // Indented text, two spaces per level, ending without a newline.
  std::string Dump() const;

 private:
  enum class Kind { kScalar, kArray, kObject };
  JsonValue(Kind kind, std::string scalar) : kind_(kind), scalar_(std::move(scalar)) {}
  void DumpTo(std::string& out, int depth) const;

  Kind kind_;
  std::string scalar_;  // the literal text of a scalar
  std::vector<std::pair<std::string, JsonValue>> members_;
  std::vector<JsonValue> items_;
};

}  // namespace crepe::client
