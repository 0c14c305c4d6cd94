#include "sidecar.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crepe/audio.h"
#include "crepe/decode.h"
#include "json_writer.h"
#include "output_files.h"

namespace crepe::client {
namespace {
namespace fs = std::filesystem;
using google::protobuf::Struct;

// Bumped if the meaning of a sidecar changes; a sidecar of another format is not trusted.
constexpr const char* kFormat = "crepe-client/1";

JsonValue SettingsValue(const cli::AnalysisOptions& a) {
  const PredictOptions& o = a.predict;
  const PostProcessOptions& post = o.post;
  auto optional_float = [](const std::optional<float>& v) { return v ? JsonValue::Float(*v) : JsonValue::Null(); };
  JsonValue hop = JsonValue::Object();
  hop.Set("unit", JsonValue::String(o.hop.unit == HopSpec::Unit::kSamples ? "samples" : "ms"))
      .Set("value", JsonValue::Number(o.hop.value));
  JsonValue hysteresis = JsonValue::Null();
  if (post.hysteresis) {
    hysteresis = JsonValue::Object();
    hysteresis.Set("lower", JsonValue::Float(post.hysteresis->lower))
        .Set("upper", JsonValue::Float(post.hysteresis->upper))
        .Set("width", JsonValue::Float(post.hysteresis->width))
        .Set("stds", JsonValue::Float(post.hysteresis->stds));
  }
  JsonValue outputs = JsonValue::Object();
  outputs.Set("activations", JsonValue::Bool(a.outputs.activations))
      .Set("embeddings", JsonValue::Bool(a.outputs.embeddings))
      .Set("periodicity", JsonValue::Bool(a.outputs.periodicity));
  JsonValue s = JsonValue::Object();
  s.Set("model", JsonValue::String(a.model))
      .Set("hop", std::move(hop))
      .Set("center", JsonValue::Bool(o.center))
      .Set("decoder", JsonValue::String(std::string(DecoderName(o.decoder))))
      .Set("fmin_hz", JsonValue::Number(o.fmin_hz))
      .Set("fmax_hz", JsonValue::Number(o.fmax_hz))  // null: no limit
      .Set("resampler", JsonValue::String(std::string(ResamplerName(o.resampler))))
      .Set("silence_db", optional_float(post.silence_db))
      .Set("silence_reference_db",
           post.silence_reference_db ? JsonValue::Number(*post.silence_reference_db) : JsonValue::Null())
      .Set("periodicity_median_window", JsonValue::Number(post.periodicity_median_window))
      .Set("threshold", optional_float(post.threshold))
      .Set("hysteresis", std::move(hysteresis))
      .Set("pitch_mean_window", JsonValue::Number(post.pitch_mean_window))
      .Set("outputs", std::move(outputs));
  return s;
}

bool ParseJson(const std::string& text, Struct* out) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(text, out, options).ok();
}

const google::protobuf::Value* Field(const Struct& s, const std::string& key) {
  const auto it = s.fields().find(key);
  return it == s.fields().end() ? nullptr : &it->second;
}

}  // namespace

std::string SidecarPath(const std::string& stem) { return stem + ".crepe.json"; }

std::string SettingsJson(const cli::AnalysisOptions& settings) { return SettingsValue(settings).Dump(); }

std::string EncodeSidecar(const cli::AnalysisOptions& settings, const SidecarRecord& r) {
  JsonValue model = JsonValue::Object();
  model.Set("name", JsonValue::String(r.model_name))
      .Set("weights_sha256", JsonValue::String(r.weights_sha256))
      .Set("device", JsonValue::String(r.device));
  JsonValue outputs = JsonValue::Array();
  for (const std::string& name : r.outputs) outputs.Push(JsonValue::String(name));
  JsonValue doc = JsonValue::Object();
  doc.Set("format", JsonValue::String(kFormat))
      .Set("input", JsonValue::String(r.input))
      .Set("settings", SettingsValue(settings))
      .Set("model", std::move(model))
      .Set("server", JsonValue::String(r.server))
      .Set("request_id", JsonValue::String(r.request_id))
      .Set("frames", JsonValue::Number(static_cast<double>(r.frames)))
      .Set("audio_seconds", JsonValue::Number(r.audio_seconds))
      .Set("outputs", std::move(outputs));
  return doc.Dump() + "\n";
}

bool OutputsComplete(const std::string& stem, const cli::AnalysisOptions& settings, std::string* why_not) {
  auto fail = [why_not](const std::string& why) {
    if (why_not != nullptr) *why_not = why;
    return false;
  };
  const std::string path = SidecarPath(stem);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("no sidecar");
  std::stringstream text;
  text << in.rdbuf();
  Struct doc, wanted;
  if (!ParseJson(text.str(), &doc)) return fail("sidecar " + path + " is not valid JSON");
  const google::protobuf::Value* format = Field(doc, "format");
  if (format == nullptr || format->string_value() != kFormat) return fail("sidecar " + path + " has another format");
  // Compared as parsed JSON, both sides through the same writer and parser, so number spelling
  // and key order cannot make equal settings differ.
  const google::protobuf::Value* recorded = Field(doc, "settings");
  if (recorded == nullptr || !ParseJson(SettingsJson(settings), &wanted) ||
      !google::protobuf::util::MessageDifferencer::Equals(recorded->struct_value(), wanted)) {
    return fail("settings differ from " + path);
  }
  const google::protobuf::Value* outputs = Field(doc, "outputs");
  if (outputs == nullptr) return fail("sidecar " + path + " lists no outputs");
  const fs::path directory = fs::path(path).parent_path();
  const std::string base = fs::path(stem).filename().string();
  std::vector<std::string> listed;
  for (const auto& v : outputs->list_value().values()) listed.push_back(v.string_value());
  for (const std::string& suffix : OutputSuffixes(settings.outputs)) {
    if (std::find(listed.begin(), listed.end(), base + suffix) == listed.end()) {
      return fail("sidecar " + path + " does not list " + base + suffix);
    }
  }
  for (const std::string& name : listed) {
    std::error_code ec;
    if (name.empty() || !fs::is_regular_file(directory / name, ec)) return fail("output " + name + " is missing");
  }
  return true;
}

}  // namespace crepe::client
