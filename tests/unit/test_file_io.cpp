// .npy reading and writing, atomic file output and the CSV formats.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crepe/file_io.h"
#include "support/test_paths.h"

namespace crepe {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// A .npy file with a hand-written header (padded like numpy) and raw little-endian data.
std::string MakeNpy(const std::string& dict, const std::string& data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const size_t n = header.size();
  out += static_cast<char>(n & 0xFF);
  out += static_cast<char>((n >> 8) & 0xFF);
  if (major != 1) out += std::string(2, '\0');
  return out + header + data;
}

std::string F4(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}
std::string F8(const std::vector<double>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8);
}

class FileIoTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::MakeTempDir("file-io"); }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  void ExpectReadError(const std::string& name, const std::string& bytes, StatusCode code,
                       const std::string& fragment) {
    const std::string path = Write(name, bytes);
    Result<NpyArray> array = ReadNpy(path);
    ASSERT_FALSE(array.ok()) << name;
    EXPECT_EQ(array.status().code(), code) << array.status().ToString();
    EXPECT_NE(array.status().message().find(path), std::string::npos) << array.status().message();
    EXPECT_NE(array.status().message().find(fragment), std::string::npos) << array.status().message();
  }

  std::string dir_;
};

TEST(EncodeNpy, WritesWhatNumpySaveWrites) {
  // np.save of float32 arrays: version 1.0, header (with 21 spare characters for growing the
  // first axis) padded with spaces to a 64-byte boundary and ended by '\n'.
  struct Case {
    std::vector<int64_t> shape;
    std::string dict;
  };
  const Case cases[] = {
      {{3}, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"},
      {{2, 3}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"},
      {{}, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"},
      {{1001, 360}, "{'descr': '<f4', 'fortran_order': False, 'shape': (1001, 360), }"},
      {{0}, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }"},
      {{4, 1, 2}, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 1, 2), }"},
  };
  for (const Case& c : cases) {
    int64_t count = 1;
    for (int64_t d : c.shape) count *= d;
    std::vector<float> data(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) data[i] = static_cast<float>(i) * 0.5f;
    const std::string bytes = EncodeNpy(data.data(), c.shape);
    const std::string expected_header = c.dict + std::string(117 - c.dict.size(), ' ') + "\n";
    ASSERT_EQ(bytes.size(), 128 + 4 * data.size()) << c.dict;  // numpy: 140, 152, 132, 1441568, 128, 160
    EXPECT_EQ(bytes.substr(0, 10), std::string("\x93NUMPY\x01\x00\x76\x00", 10));
    EXPECT_EQ(bytes.substr(10, 118), expected_header);
    EXPECT_EQ(bytes.substr(128), F4(data));
  }
}

TEST_F(FileIoTest, NpyRoundTrip) {
  const std::vector<float> data = {0.0f, -1.5f, 3.25f, std::numeric_limits<float>::infinity(), 1e-40f, -0.0f};
  const std::string path = dir_ + "/round-trip.npy";
  ASSERT_TRUE(WriteFileAtomically(path, EncodeNpy(data.data(), {2, 3})).ok());
  Result<NpyArray> array = ReadNpy(path);
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(array->data.size(), data.size());
  EXPECT_EQ(std::memcmp(array->data.data(), data.data(), data.size() * 4), 0);

  const float scalar = 42.0f;
  ASSERT_TRUE(WriteFileAtomically(path, EncodeNpy(&scalar, {})).ok());
  array = ReadNpy(path);
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_TRUE(array->shape.empty());
  EXPECT_EQ(array->data, std::vector<float>{42.0f});

  ASSERT_TRUE(WriteFileAtomically(path, EncodeNpy(nullptr, {0, 360})).ok());
  array = ReadNpy(path);
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->shape, (std::vector<int64_t>{0, 360}));
  EXPECT_TRUE(array->data.empty());
}

TEST(ReadNpy, ReadsNumpyWrittenFiles) {
  const std::string path = test::SharedPath("testdata/crepe-reference/activation-tiny.npy");
  if (!test::FileExists(path)) GTEST_SKIP() << "shared test data not available";
  Result<NpyArray> array = ReadNpy(path);
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->shape, (std::vector<int64_t>{1001, 360}));
  ASSERT_EQ(array->data.size(), 1001u * 360u);
  for (float v : array->data) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
  // The resample fixtures were written by numpy 1.26.
  Result<NpyArray> fixture = ReadNpy(test::SourcePath("tests/fixtures/resample/test_wav_short.npy"));
  ASSERT_TRUE(fixture.ok()) << fixture.status().ToString();
  EXPECT_EQ(fixture->shape, std::vector<int64_t>{36});
}

TEST_F(FileIoTest, ReadsFloat64AndLaterFormatVersions) {
  const std::vector<double> values = {0.1, -2.5, 1e300, 1.0 / 3};
  const std::string f8 =
      Write("f8.npy", MakeNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", F8(values)));
  Result<NpyArray> array = ReadNpy(f8);
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(array->data, (std::vector<float>{0.1f, -2.5f, std::numeric_limits<float>::infinity(), 1.0f / 3}));

  for (int major : {2, 3}) {
    const std::string path =
        Write("v" + std::to_string(major) + ".npy",
              MakeNpy("{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}", F4({1.0f, 2.0f, 3.0f}), major));
    array = ReadNpy(path);
    ASSERT_TRUE(array.ok()) << array.status().ToString();
    EXPECT_EQ(array->shape, std::vector<int64_t>{3});
    EXPECT_EQ(array->data, (std::vector<float>{1.0f, 2.0f, 3.0f}));
  }
}

TEST_F(FileIoTest, NpyErrors) {
  Result<NpyArray> missing = ReadNpy(dir_ + "/missing.npy");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  ExpectReadError("magic.npy", "PK\x03\x04 this is a zip file", StatusCode::kInvalidArgument, "bad magic");
  ExpectReadError("empty.npy", "", StatusCode::kInvalidArgument, "bad magic");
  ExpectReadError("fortran.npy",
                  MakeNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", F4({1, 2, 3, 4})),
                  StatusCode::kInvalidArgument, "Fortran order");
  ExpectReadError("int.npy", MakeNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", F4({1, 2})),
                  StatusCode::kInvalidArgument, "unsupported dtype '<i4'");
  ExpectReadError("big.npy", MakeNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", F4({1, 2})),
                  StatusCode::kInvalidArgument, "unsupported dtype '>f4'");
  ExpectReadError("short-data.npy", MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", F4({1, 2})),
                  StatusCode::kDataLoss, "truncated");
  ExpectReadError("huge-shape.npy", MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4), }", ""),
                  StatusCode::kDataLoss, "truncated");  // checked against the file size before allocating
  ExpectReadError("overflow.npy",
                  MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""),
                  StatusCode::kInvalidArgument, "impossibly large shape");
  const std::string good = MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", F4({1, 2}));
  ExpectReadError("short-header.npy", good.substr(0, 40), StatusCode::kDataLoss, "truncated");
  ExpectReadError("garbled.npy", MakeNpy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", F4({1, 2})),
                  StatusCode::kInvalidArgument, "malformed .npy header");
  ExpectReadError("no-shape.npy", MakeNpy("{'descr': '<f4', 'fortran_order': False, }", F4({1, 2})),
                  StatusCode::kInvalidArgument, "missing");
  std::string version = good;
  version[6] = 4;
  ExpectReadError("version.npy", version, StatusCode::kInvalidArgument, "version 4.0");
}

TEST_F(FileIoTest, AtomicWriteCreatesParentsAndReplaces) {
  const std::string path = dir_ + "/a/b/c/out.csv";
  ASSERT_TRUE(WriteFileAtomically(path, "first\n").ok());
  EXPECT_EQ(ReadBytes(path), "first\n");
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer contents\n").ok());
  EXPECT_EQ(ReadBytes(path), "second, longer contents\n");
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(ReadBytes(path), "");
  EXPECT_EQ(ListDir(dir_ + "/a/b/c"), std::set<std::string>{"out.csv"});  // no temporaries left

  std::string binary(100000, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/binary.npy", binary).ok());
  EXPECT_EQ(ReadBytes(dir_ + "/binary.npy"), binary);
}

TEST_F(FileIoTest, AtomicWriteFailuresLeaveNothingBehind) {
  // The target is a directory: the rename fails and the temporary is removed.
  fs::create_directories(dir_ + "/target-is-dir");
  Status status = WriteFileAtomically(dir_ + "/target-is-dir", "data");
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(fs::is_directory(dir_ + "/target-is-dir"));
  EXPECT_EQ(ListDir(dir_), std::set<std::string>{"target-is-dir"});

  // A parent is a regular file.
  std::ofstream(dir_ + "/plain-file") << "x";
  status = WriteFileAtomically(dir_ + "/plain-file/sub/out.csv", "data");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("plain-file"), std::string::npos) << status.message();
  EXPECT_EQ(ListDir(dir_), (std::set<std::string>{"target-is-dir", "plain-file"}));
  EXPECT_EQ(ReadBytes(dir_ + "/plain-file"), "x");

  // The same with a non-empty directory, in a fresh folder.
  fs::create_directories(dir_ + "/late/out.csv/inner");
  status = WriteFileAtomically(dir_ + "/late/out.csv", "data");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(ListDir(dir_ + "/late"), std::set<std::string>{"out.csv"});

  EXPECT_FALSE(WriteFileAtomically("", "data").ok());
}

TEST_F(FileIoTest, ConcurrentAtomicWritersNeverMix) {
  const std::string path = dir_ + "/shared.txt";
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      const std::string contents(200000, static_cast<char>('a' + w));
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(WriteFileAtomically(path, contents).ok());
    });
  }
  for (std::thread& t : writers) t.join();
  const std::string result = ReadBytes(path);
  ASSERT_EQ(result.size(), 200000u);
  EXPECT_EQ(result, std::string(200000, result[0]));
  EXPECT_EQ(ListDir(dir_), std::set<std::string>{"shared.txt"});
}

TEST(Csv, F0CsvIsWhatNumpySavetxtWrites) {
  // Expected strings from np.savetxt(fmt=['%.3f', '%.3f', '%.6f'], delimiter=',',
  // header='time,frequency,confidence', comments='') on the same float64/float32 values.
  const std::vector<double> times = {0.0, 1 * 10 / 1000.0, 2 * 10 / 1000.0, 3 * 10 / 1000.0, 4 * 10 / 1000.0, 2.675};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> frequency = {185.616f, nan, 0.0f, 1e-4f, -0.0001f, 2005.4967f};
  const std::vector<float> confidence = {0.907112f, 0.5f, 0.0f, 1.0f, 0.12345651f, nan};
  EXPECT_EQ(FormatF0Csv(times, frequency, confidence),
            "time,frequency,confidence\n"
            "0.000,185.616,0.907112\n"
            "0.010,0.000,0.500000\n"
            "0.020,0.000,0.000000\n"
            "0.030,0.000,1.000000\n"
            "0.040,-0.000,0.123457\n"
            "2.675,2005.497,nan\n");
  EXPECT_EQ(FormatF0Csv({}, {}, {}), "time,frequency,confidence\n");
  const float negative_nan = -std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(FormatF0Csv({0.0}, {negative_nan}, {negative_nan}), "time,frequency,confidence\n0.000,0.000,nan\n");
}

TEST(Csv, SeriesCsv) {
  const std::vector<double> times = {0.0, 0.01, 0.02, 0.03, 0.04, 2.675};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values = {0.907112f, 0.5f, 0.0f, 1.0f, 0.12345651f, nan};
  EXPECT_EQ(FormatSeriesCsv(times, values, "periodicity"),
            "time,periodicity\n"
            "0.000,0.907112\n"
            "0.010,0.500000\n"
            "0.020,0.000000\n"
            "0.030,1.000000\n"
            "0.040,0.123457\n"
            "2.675,nan\n");
  EXPECT_EQ(FormatSeriesCsv({1.5}, {-std::numeric_limits<float>::infinity()}, "x"), "time,x\n1.500,-inf\n");
}

}  // namespace
}  // namespace crepe
