#include "sidecar.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crepe/audio.h"
#include "crepe/decode.h"
#include "output_files.h"
#include "sidecar_format.pb.h"

namespace crepe::client {
namespace {
namespace fs = std::filesystem;

// Bumped if the meaning of a sidecar changes; a sidecar of another format is not trusted.
constexpr const char* kFormat = "crepe-client/1";

sidecar::Settings SettingsMessage(const cli::AnalysisOptions& a) {
  const PredictOptions& o = a.predict;
  const PostProcessOptions& post = o.post;
  sidecar::Settings s;
  s.set_model(a.model);
  s.mutable_hop()->set_unit(o.hop.unit == HopSpec::Unit::kSamples ? "samples" : "ms");
  s.mutable_hop()->set_value(o.hop.value);
  s.set_center(o.center);
  s.set_decoder(std::string(DecoderName(o.decoder)));
  s.set_fmin_hz(o.fmin_hz);
  if (std::isfinite(o.fmax_hz)) s.set_fmax_hz(o.fmax_hz);
  s.set_resampler(std::string(ResamplerName(o.resampler)));
  if (post.silence_db) s.set_silence_db(*post.silence_db);
  if (post.silence_reference_db) s.set_silence_reference_db(*post.silence_reference_db);
  s.set_periodicity_median_window(post.periodicity_median_window);
  if (post.threshold) s.set_threshold(*post.threshold);
  if (post.hysteresis) {
    sidecar::Hysteresis* h = s.mutable_hysteresis();
    h->set_lower(post.hysteresis->lower);
    h->set_upper(post.hysteresis->upper);
    h->set_width(post.hysteresis->width);
    h->set_stds(post.hysteresis->stds);
  }
  s.set_pitch_mean_window(post.pitch_mean_window);
  s.mutable_outputs()->set_activations(a.outputs.activations);
  s.mutable_outputs()->set_embeddings(a.outputs.embeddings);
  s.mutable_outputs()->set_periodicity(a.outputs.periodicity);
  return s;
}

}  // namespace

std::string SidecarPath(const std::string& stem) { return stem + ".crepe.json"; }

std::string EncodeSidecar(const cli::AnalysisOptions& settings, const SidecarRecord& r) {
  sidecar::Sidecar doc;
  doc.set_format(kFormat);
  doc.set_input(r.input);
  *doc.mutable_settings() = SettingsMessage(settings);
  doc.mutable_model()->set_name(r.model_name);
  doc.mutable_model()->set_weights_sha256(r.weights_sha256);
  doc.mutable_model()->set_device(r.device);
  doc.set_server(r.server);
  doc.set_request_id(r.request_id);
  doc.set_frames(static_cast<double>(r.frames));
  doc.set_audio_seconds(r.audio_seconds);
  for (const std::string& name : r.outputs) doc.add_outputs(name);
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string text;
  // Printing a message we built cannot fail.
  (void)google::protobuf::util::MessageToJsonString(doc, &text, options);
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
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
  sidecar::Sidecar doc;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(text.str(), &doc, options).ok()) {
    return fail("sidecar " + path + " is not a valid sidecar");
  }
  if (doc.format() != kFormat) return fail("sidecar " + path + " has another format");
  // Compared as parsed messages, so number spelling and key order cannot make equal settings differ.
  if (!doc.has_settings() ||
      !google::protobuf::util::MessageDifferencer::Equals(doc.settings(), SettingsMessage(settings))) {
    return fail("settings differ from " + path);
  }
  const fs::path directory = fs::path(path).parent_path();
  const std::string base = fs::path(stem).filename().string();
  const auto& listed = doc.outputs();
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
