// How crepe-client names its inputs' outputs, and that failed.txt lists an input so that feeding
// it back with --manifest writes to the same place.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "input_list.h"
#include "support/test_paths.h"

namespace crepe::client {
namespace {
namespace fs = std::filesystem;

class InputListTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::MakeTempDir("inputs"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Touch(const std::string& relative) {
    const fs::path p = fs::path(dir_) / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
    return p.string();
  }
  std::string dir_;
};

std::vector<std::string> Names(const InputList& l) {
  std::vector<std::string> names;
  for (const InputFile& f : l.files) names.push_back(f.relative_stem);
  return names;
}

TEST_F(InputListTest, DirectoriesMirrorFilesTakeTheirBaseName) {
  Touch("data/a.wav");
  Touch("data/sub/b.flac");
  Touch("data/notes.txt");
  const std::string explicit_file = Touch("other/deep/c.wav");
  const InputList l = ListInputs({dir_ + "/data", explicit_file}, {});
  EXPECT_TRUE(l.errors.empty());
  EXPECT_EQ(Names(l), (std::vector<std::string>{"a", "sub/b", "c"}));
}

TEST_F(InputListTest, ManifestPathsAreMirroredAndMarkersNameTheRest) {
  Touch("data/spk1/a.wav");
  Touch("data/spk2/a.wav");
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  const InputList l =
      ListInputs({}, {"data/spk1/a.wav", "./data/spk2/a.wav", dir_ + "/data/./spk1/a.wav", dir_ + "/data/spk2/a.wav",
                      "../" + fs::path(dir_).filename().string() + "/data/spk1/a.wav"});
  fs::current_path(cwd);
  EXPECT_TRUE(l.errors.empty());
  std::vector<std::string> names = Names(l);
  std::sort(names.begin(), names.end());
  // Relative: mirrored; "/./": the part after it; absolute or "..": the base name.
  EXPECT_EQ(names, (std::vector<std::string>{"a", "a", "data/spk1/a", "data/spk2/a", "spk1/a"}));
}

TEST_F(InputListTest, PatternsAreExpandedAndMissingInputsReported) {
  Touch("in/x1.wav");
  Touch("in/x2.wav");
  Touch("in/y.wav");
  const InputList l = ListInputs({dir_ + "/in/x*.wav", dir_ + "/in/none*.wav", dir_ + "/missing.wav"}, {});
  EXPECT_EQ(Names(l), (std::vector<std::string>{"x1", "x2"}));
  ASSERT_EQ(l.errors.size(), 2u);
  EXPECT_NE(l.errors[0].status.message().find("no file matches"), std::string::npos);
  EXPECT_NE(l.errors[1].status.message().find("does not exist"), std::string::npos);
}

// Found by fuzz_manifest: glob(3) lets ".*" match "." and "..", and ".." listed the parent folder
// (all of /tmp). A pattern names what it matches below, never the folder itself or its parent.
TEST_F(InputListTest, DotStarListsHiddenFilesNotTheFolderOrItsParent) {
  Touch("in/.hidden.wav");
  Touch("in/.hidden-dir/z.wav");
  Touch("outside.wav");
  const InputList l = ListInputs({dir_ + "/in/.*"}, {});
  EXPECT_TRUE(l.errors.empty());
  EXPECT_EQ(Names(l), (std::vector<std::string>{"z", ".hidden"}));
  const InputList two = ListInputs({dir_ + "/in/.?/"}, {});  // ".." only: nothing
  EXPECT_TRUE(two.files.empty());
}

// Found by fuzz_manifest as a timeout: ".*/.*/*/*" read every folder above the current one, since
// glob matched ".*" to ".." before the matches were filtered. No wildcard reaches a parent now, and
// a literal ".." in a pattern still does.
TEST_F(InputListTest, AWildcardNeverReachesTheParentButALiteralDotDotDoes) {
  Touch("in/sub/a.wav");
  Touch("in/b.wav");
  const InputList wild = ListInputs({dir_ + "/in/sub/.*/b.wav", dir_ + "/in/sub/.?/*.wav"}, {});
  EXPECT_TRUE(wild.files.empty());
  ASSERT_EQ(wild.errors.size(), 2u);
  EXPECT_EQ(wild.errors[0].status.code(), StatusCode::kNotFound);
  const InputList literal = ListInputs({dir_ + "/in/sub/../*.wav"}, {});
  EXPECT_TRUE(literal.errors.empty());
  EXPECT_EQ(Names(literal), (std::vector<std::string>{"b"}));
}

TEST_F(InputListTest, TheSameFileTwiceIsOneInput) {
  const std::string a = Touch("in/a.wav");
  const InputList l = ListInputs({dir_ + "/in", a}, {});
  EXPECT_EQ(Names(l), (std::vector<std::string>{"a"}));
}

TEST_F(InputListTest, ManifestLinesNameEveryInputAsBefore) {
  Touch("data/spk1/a.wav");
  Touch("data/b.wav");
  const std::string explicit_file = Touch("elsewhere/c.wav");
  const InputList first = ListInputs({dir_ + "/data", explicit_file}, {});
  ASSERT_EQ(first.files.size(), 3u);
  std::vector<std::string> lines;
  for (const InputFile& f : first.files) lines.push_back(ManifestLine(f));
  // Only a name that its path alone would not give gets a marker.
  EXPECT_EQ(lines, (std::vector<std::string>{dir_ + "/data/b.wav", dir_ + "/data/./spk1/a.wav", explicit_file}));
  const InputList again = ListInputs({}, lines);
  ASSERT_EQ(again.files.size(), 3u);
  for (const InputFile& f : first.files) {
    const auto same = std::find_if(again.files.begin(), again.files.end(),
                                   [&](const InputFile& g) { return fs::equivalent(g.path, f.path); });
    ASSERT_NE(same, again.files.end()) << f.path;
    EXPECT_EQ(same->relative_stem, f.relative_stem) << f.path;
  }
}

TEST_F(InputListTest, ManifestsSkipCommentsAndBlankLines) {
  const std::string m = dir_ + "/list.txt";
  std::ofstream(m) << "# inputs\n\n  a.wav  \r\n#b.wav\nsub/c.wav\n";
  auto entries = ReadManifest(m);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (std::vector<std::string>{"a.wav", "sub/c.wav"}));
  EXPECT_FALSE(ReadManifest(dir_ + "/nope.txt").ok());
}

TEST(ShardTest, ParsesAndPartitions) {
  EXPECT_EQ(ParseShard("1/3")->index, 1);
  EXPECT_EQ(ParseShard("1/3")->count, 3);
  for (const char* bad : {"3/3", "-1/2", "1/0", "1", "a/b", "1/2x", ""}) EXPECT_FALSE(ParseShard(bad).ok()) << bad;
  std::vector<InputFile> files;
  for (int i = 0; i < 7; ++i) files.push_back({"f" + std::to_string(i), "f" + std::to_string(i)});
  std::vector<std::string> seen;
  for (int s = 0; s < 3; ++s) {
    for (const InputFile& f : TakeShard(files, {s, 3})) seen.push_back(f.path);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(TakeShard(files, {1, 3}).size(), 2u);  // f1, f4
}

}  // namespace
}  // namespace crepe::client
