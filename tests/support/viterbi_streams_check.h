// The check of ViterbiStreams (src/model/viterbi_streams.h) against the CPU decoder, run on the
// CPU by the model tests and on a GPU by the gpu tests: the same tensor code on both.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/decode.h"
#include "model/viterbi_streams.h"
#include "support/fixtures.h"
#include "support/test_paths.h"

namespace crepe::test {

struct TestStream {
  std::string name;
  Decoder decoder;
  BinRange range;
  std::vector<float> rows;             // frames x 360
  std::vector<int64_t> expected_path;  // hmmlearn's, where known
  int64_t frames() const { return static_cast<int64_t>(rows.size()) / kPitchBins; }
  // Filled by the test.
  int64_t sent = 0;
  bool ended = false;
  std::vector<FrameSummary> decided;
  int64_t decided_before_last = 0;
};

inline std::vector<float> OneHotRows(const std::vector<int64_t>& bins) {
  std::vector<float> rows(bins.size() * kPitchBins, 0.0f);
  for (size_t t = 0; t < bins.size(); ++t) rows[t * kPitchBins + static_cast<size_t>(bins[t])] = 1.0f;
  return rows;
}

inline bool SameFloat(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline std::vector<TestStream> MakeStreams() {
  std::vector<TestStream> streams;
  for (const char* name : {"activation-tiny.npy", "activation-full.npy"}) {
    const std::vector<float> rows =
        test::LoadNpy(test::SharedPath(std::string("testdata/crepe-reference/") + name)).data;
    for (const auto& [decoder, range] :
         {std::pair{Decoder::kViterbi, BinRange{}}, std::pair{Decoder::kViterbi, BinRange{60, 200}},
          std::pair{Decoder::kViterbiConfidence, BinRange{}},
          std::pair{Decoder::kViterbiConfidence, BinRange{0, 100}}}) {
      TestStream s;
      s.name = std::string(name) + " " + std::string(DecoderName(decoder)) + " [" + std::to_string(range.lo) + ", " +
               std::to_string(range.hi) + "]";
      s.decoder = decoder;
      s.range = range;
      s.rows = rows;
      streams.push_back(std::move(s));
    }
  }
  // hmmlearn's paths (tests/fixtures/viterbi), observations as one-hot rows: ties everywhere.
  for (const auto& entry : std::filesystem::directory_iterator(test::SourcePath("tests/fixtures/viterbi"))) {
    if (entry.path().extension() != ".csv") continue;
    const test::CsvTable t = test::ReadCsv(entry.path().string());
    TestStream s;
    s.name = entry.path().filename().string();
    s.decoder = Decoder::kViterbi;
    const std::vector<int64_t> observed(t.Column("obs").begin(), t.Column("obs").end());
    s.expected_path.assign(t.Column("path").begin(), t.Column("path").end());
    s.rows = OneHotRows(observed);
    streams.push_back(std::move(s));
  }
  return streams;
}

// Streams cut into parts of random sizes, interleaved in batches (now and then two parts of one
// stream in a batch, an end in a part of its own), on `device`: every stream decodes exactly as
// the CPU decoder over the whole stream (bins, and DecodeSummary's frequency and periodicity bit
// for bit; hmmlearn's paths where known), and most frames are decided before the end.
inline void ExpectStreamsEqualTheCpuDecoder(const torch::Device& device, ViterbiImpl impl = ViterbiImpl::kAuto) {
  std::vector<TestStream> streams = MakeStreams();
  ViterbiStreams viterbi(device, impl);
  std::mt19937_64 rng(7);
  int batches = 0;
  bool shared_stream = false;
  while (true) {
    // A batch: a random part of some streams, now and then two parts of one stream, and now and
    // then a stream's end in a part of its own, with no frames.
    std::vector<float> rows;
    std::vector<FrameSummary> summaries;
    std::vector<ViterbiPart> parts;
    std::vector<size_t> owner;
    for (int round = 0; round < 2; ++round) {
      for (size_t i = 0; i < streams.size(); ++i) {
        TestStream& s = streams[i];
        if (s.ended || rng() % 3 == 0 || (round == 1 && rng() % 4 != 0)) continue;
        const int64_t left = s.frames() - s.sent;
        const int64_t count = std::min<int64_t>(left, static_cast<int64_t>(rng() % 60));
        ViterbiPart p{100 + i, s.decoder, s.range, s.sent, static_cast<int64_t>(summaries.size()), count, false};
        p.last = count == left && (count > 0 || rng() % 2 == 0);
        if (count == 0 && !p.last) continue;
        for (int64_t t = s.sent; t < s.sent + count; ++t) {
          const float* row = s.rows.data() + t * kPitchBins;
          rows.insert(rows.end(), row, row + kPitchBins);
          summaries.push_back(SummarizeFrame(row, s.range, false));
        }
        shared_stream = shared_stream || round == 1;
        s.sent += count;
        s.ended = p.last;
        parts.push_back(p);
        owner.push_back(i);
      }
    }
    if (parts.empty()) {
      bool all_ended = true;
      for (const TestStream& s : streams) all_ended = all_ended && s.ended;
      if (all_ended) break;
      continue;
    }
    const auto n = static_cast<int64_t>(summaries.size());
    const torch::Tensor activations = torch::from_blob(rows.data(), {n, kPitchBins}, torch::kFloat32).to(device);
    auto decided = viterbi.Advance(activations, summaries.data(), parts);
    ASSERT_TRUE(decided.ok()) << decided.status().ToString();
    ASSERT_EQ(decided->size(), parts.size());
    for (size_t k = 0; k < parts.size(); ++k) {
      TestStream& s = streams[owner[k]];
      s.decided.insert(s.decided.end(), (*decided)[k].begin(), (*decided)[k].end());
      if (!parts[k].last) s.decided_before_last = static_cast<int64_t>(s.decided.size());
      EXPECT_LE(static_cast<int64_t>(s.decided.size()), s.sent) << s.name;
    }
    ++batches;
  }
  EXPECT_GT(batches, 20);
  EXPECT_TRUE(shared_stream);
  EXPECT_EQ(viterbi.open_streams(), 0u);
  for (const TestStream& s : streams) {
    const DecodedPitch cpu = *DecodeActivations(s.rows.data(), s.frames(), s.decoder, s.range);
    ASSERT_EQ(static_cast<int64_t>(s.decided.size()), s.frames()) << s.name;
    int bad = 0;
    for (size_t t = 0; t < s.decided.size(); ++t) {
      float f = 0, p = 0;
      DecodeSummary(s.decided[t], s.decoder, &f, &p);
      const bool same = s.decided[t].bin == cpu.bins[t] && SameFloat(f, cpu.frequency[t]) &&
                        SameFloat(p, cpu.periodicity[t]) &&
                        (s.expected_path.empty() || s.decided[t].bin == s.expected_path[t]);
      if (!same && ++bad <= 3) {
        ADD_FAILURE() << s.name << " frame " << t << ": bin " << s.decided[t].bin << " vs " << cpu.bins[t] << ", " << f
                      << " Hz vs " << cpu.frequency[t] << ", periodicity " << p << " vs " << cpu.periodicity[t];
      }
    }
    EXPECT_EQ(bad, 0) << s.name;
    // Paths of real audio merge often: most frames are decided before the stream ends.
    if (s.expected_path.empty()) {
      EXPECT_GT(s.decided_before_last, s.frames() / 2) << s.name;
    }
  }
}

}  // namespace crepe::test
