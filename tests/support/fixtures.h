// Helpers shared by the test suites: reading fixtures and comparing arrays.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "crepe/file_io.h"

namespace crepe::test {

// Reads a .npy file or fails the calling test (use with ASSERT_NO_FATAL_FAILURE).
NpyArray LoadNpy(const std::string& path);

// Rows [0, n) of a frames x width array taken every `step` rows.
std::vector<float> EveryNthRow(const std::vector<float>& data, int64_t width, int64_t step);

// Max and mean absolute difference of two equally long arrays.
std::pair<double, double> MaxMeanAbsDiff(const std::vector<float>& a, const std::vector<float>& b);

// A CSV of numbers with a header line: columns by name.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<double>> columns;
  const std::vector<double>& Column(const std::string& name) const;
};
CsvTable ReadCsv(const std::string& path);

// Runs a shell command, returns its exit status and captures stdout+stderr.
int RunCommand(const std::string& command, std::string* output = nullptr);

// A minimal RIFF/WAVE file of interleaved samples: 16-bit PCM or 32-bit float.
std::string WavBytes(const std::vector<float>& samples, int rate, int channels, bool as_float);

}  // namespace crepe::test
