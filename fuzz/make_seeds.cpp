// Writes the seed corpus of every fuzz target from real inputs:
//   crepe_fuzz_seeds OUT_DIR EXAMPLE_WAV [WEIGHTS_H5] [NPY_FILE...]
// OUT_DIR/<target>/ gets: requests carrying excerpts of the example as PCM and as encoded files
// with varied options; the excerpt as WAV/FLAC/OGG/AIFF; .npy arrays (ours and the given
// fixtures); Keras-layout HDF5 files (small ones written here, and the head of a real weights
// file); manifests. Run by tools/fuzz.sh; nothing here is committed.
#include <hdf5.h>
#include <sndfile.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crepe/audio.h"
#include "crepe/file_io.h"
#include "request_codec.h"

namespace {
namespace fs = std::filesystem;
using crepe::v1::PredictRequest;

void WriteSeed(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string ReadOrDie(const std::string& path) {
  auto bytes = crepe::ReadFileBytes(path);
  if (!bytes.ok()) {
    std::fprintf(stderr, "crepe_fuzz_seeds: %s\n", bytes.status().ToString().c_str());
    std::exit(1);
  }
  return *bytes;
}

// `samples` (interleaved) encoded by libsndfile in `format`, via a scratch file.
std::string Encode(const std::vector<float>& samples, int rate, int channels, int format, const fs::path& scratch) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(scratch.c_str(), SFM_WRITE, &info);
  if (f == nullptr) {
    std::fprintf(stderr, "crepe_fuzz_seeds: cannot encode format %x: %s\n", format, sf_strerror(nullptr));
    std::exit(1);
  }
  sf_writef_float(f, samples.data(), static_cast<sf_count_t>(samples.size() / channels));
  sf_close(f);
  std::string bytes = ReadOrDie(scratch.string());
  fs::remove(scratch);
  return bytes;
}

void AudioSeeds(const crepe::AudioBuffer& mono, const crepe::AudioBuffer& stereo, const fs::path& out,
                std::vector<std::string>& encoded) {
  const fs::path scratch = out / "scratch.tmp";
  struct Kind {
    const char* name;
    int format;
    const crepe::AudioBuffer* audio;
  };
  const Kind kinds[] = {
      {"mono16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, &mono},
      {"stereo-float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, &stereo},
      {"mono.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, &mono},
      {"stereo.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, &stereo},
      {"mono24.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, &mono},
  };
  for (const Kind& k : kinds) {
    encoded.push_back(Encode(k.audio->samples, k.audio->sample_rate, k.audio->channels, k.format, scratch));
    WriteSeed(out / "audio", k.name, encoded.back());
  }
}

void RequestSeeds(const crepe::AudioBuffer& mono, const crepe::AudioBuffer& stereo,
                  const std::vector<std::string>& encoded, const fs::path& dir) {
  int n = 0;
  auto put = [&](const PredictRequest& r) { WriteSeed(dir, "request-" + std::to_string(n++), r.SerializeAsString()); };
  PredictRequest r;
  r.mutable_options()->set_model(crepe::v1::CAPACITY_TINY);
  auto* pcm = r.mutable_audio()->mutable_pcm();
  pcm->set_sample_rate_hz(mono.sample_rate);
  pcm->set_format(crepe::v1::SAMPLE_FORMAT_FLOAT32);
  pcm->set_data(crepe::rpc::EncodePcm(mono.samples.data(), mono.samples.size(), crepe::v1::SAMPLE_FORMAT_FLOAT32));
  put(r);  // defaults

  auto* o = r.mutable_options();
  o->set_decoder(crepe::v1::DECODER_VITERBI);
  o->set_hop_ms(5);
  o->set_fmin_hz(80);
  o->set_fmax_hz(900);
  o->mutable_post();  // present and empty: the raw decoder output
  o->mutable_outputs()->set_activations(true);
  o->mutable_outputs()->set_embeddings(true);
  o->mutable_outputs()->set_tensor_encoding(crepe::v1::TENSOR_ENCODING_FLOAT16);
  put(r);

  o->set_decoder(crepe::v1::DECODER_WEIGHTED_ARGMAX);
  o->set_hop_samples(441);
  o->set_center(false);
  o->set_resampler(crepe::v1::RESAMPLER_SOXR_VHQ);
  auto* post = o->mutable_post();
  post->set_silence_db(-60);
  post->set_periodicity_median_window(3);
  post->mutable_hysteresis()->set_lower(0.2f);
  post->set_pitch_mean_window(5);
  pcm->set_sample_rate_hz(stereo.sample_rate);
  pcm->set_channels(2);
  pcm->set_format(crepe::v1::SAMPLE_FORMAT_INT16);
  pcm->set_data(crepe::rpc::EncodePcm(stereo.samples.data(), stereo.samples.size(), crepe::v1::SAMPLE_FORMAT_INT16));
  put(r);

  post->clear_hysteresis();
  post->set_voicing_threshold(0.5f);
  post->set_silence_reference_db(0);
  o->set_decoder(crepe::v1::DECODER_ARGMAX);
  for (const std::string& file : encoded) {
    r.mutable_audio()->set_encoded(file);
    put(r);
  }
}

void NpySeeds(const std::vector<std::string>& fixtures, const fs::path& dir) {
  const std::vector<float> values = {0.f, 1.f, -2.5f, 3.25f, 1e-3f, 7.f};
  WriteSeed(dir, "matrix.npy", crepe::EncodeNpy(values.data(), {2, 3}));
  WriteSeed(dir, "vector.npy", crepe::EncodeNpy(values.data(), {6}));
  WriteSeed(dir, "scalar.npy", crepe::EncodeNpy(values.data(), {}));
  WriteSeed(dir, "empty.npy", crepe::EncodeNpy(values.data(), {0, 360}));
  for (const std::string& f : fixtures) WriteSeed(dir, fs::path(f).filename().string(), ReadOrDie(f));
}

// A Keras-layout file with each layer's weights under <layer>/<layer>/<name>:0 and listed in the
// layer's weight_names; `width` sets conv1's filters (128 is tiny's, so DetectCapacity succeeds),
// every other dataset is a few elements (a shape error later in the file).
void WriteKerasLike(const fs::path& path, hsize_t width, bool latest_format) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (latest_format) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  const std::vector<std::pair<std::string, std::vector<std::string>>> layers = {
      {"conv1", {"kernel:0", "bias:0"}},
      {"conv1-BN", {"gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"}},
      {"classifier", {"kernel:0", "bias:0"}}};
  for (const auto& [layer, weights] : layers) {
    hid_t group = H5Gcreate2(file, layer.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t inner = H5Gcreate2(group, layer.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const size_t name_size = 32;
    std::vector<char> names(weights.size() * name_size, '\0');
    for (size_t i = 0; i < weights.size(); ++i) {
      const std::string full = layer + "/" + weights[i];
      full.copy(names.data() + i * name_size, name_size - 1);
      const hsize_t dims = (layer == "conv1" && weights[i] == "bias:0") ? width : 2;
      std::vector<float> data(dims, 0.5f);
      hid_t space = H5Screate_simple(1, &dims, nullptr);
      hid_t ds = H5Dcreate2(inner, weights[i].c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
      H5Dclose(ds);
      H5Sclose(space);
    }
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, name_size);
    const hsize_t count = weights.size();
    hid_t space = H5Screate_simple(1, &count, nullptr);
    hid_t attr = H5Acreate2(group, "weight_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, type, names.data());
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Gclose(inner);
    H5Gclose(group);
  }
  H5Fclose(file);
  H5Pclose(fapl);
}

void WeightSeeds(const std::string& real_weights, const fs::path& dir) {
  fs::create_directories(dir);
  WriteKerasLike(dir / "keras-tiny-v0.h5", 128, false);
  WriteKerasLike(dir / "keras-tiny-latest.h5", 128, true);
  WriteKerasLike(dir / "keras-odd-width.h5", 100, false);
  // The head of a real file: its superblock and metadata (the fuzzer's length limit cuts the rest).
  if (!real_weights.empty()) WriteSeed(dir, "model-head.h5", ReadOrDie(real_weights).substr(0, 1 << 16));
}

void ManifestSeeds(const fs::path& dir) {
  WriteSeed(dir, "files", "d.wav\na/b.wav\n");
  WriteSeed(dir, "folders-and-markers", "# a dataset list\n\na\n./a/deep\nsp ace.wav\n  a/./c.flac  \r\n");
  WriteSeed(dir, "patterns", "*.wav\na/*\nx\\[1\\].wav\nx[1].wav\n[ad]/*.flac\nmissing.wav\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: crepe_fuzz_seeds OUT_DIR EXAMPLE_WAV [WEIGHTS_H5] [NPY_FILE...]\n");
    return 2;
  }
  const fs::path out = argv[1];
  auto example = crepe::ReadAudioFile(argv[2]);
  if (!example.ok()) {
    std::fprintf(stderr, "crepe_fuzz_seeds: %s\n", example.status().ToString().c_str());
    return 1;
  }
  // Short excerpts (a tenth of a second): small inputs keep the fuzzers fast.
  crepe::AudioBuffer mono{{}, example->sample_rate, 1};
  const auto excerpt = std::min<int64_t>(example->frames(), example->sample_rate / 10);
  const std::vector<float> first =
      crepe::MixToMono(example->samples.data() + example->frames() / 2 * example->channels, excerpt, example->channels);
  mono.samples = first;
  crepe::AudioBuffer stereo{{}, 44100, 2};
  for (size_t i = 0; i < first.size(); ++i) stereo.samples.insert(stereo.samples.end(), {first[i], -0.5f * first[i]});
  fs::create_directories(out);
  std::vector<std::string> encoded;
  AudioSeeds(mono, stereo, out, encoded);
  RequestSeeds(mono, stereo, encoded, out / "request");
  NpySeeds(std::vector<std::string>(argv + std::min(argc, 4), argv + argc), out / "npy");
  WeightSeeds(argc > 3 ? argv[3] : "", out / "weights");
  ManifestSeeds(out / "manifest");
  std::printf("seed corpus written to %s\n", out.c_str());
  return 0;
}
