#include "support/fixtures.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace crepe::test {

NpyArray LoadNpy(const std::string& path) {
  auto r = ReadNpy(path);
  if (!r.ok()) {
    ADD_FAILURE() << "cannot read " << path << ": " << r.status().ToString();
    return {};
  }
  return std::move(r).value();
}

std::vector<float> EveryNthRow(const std::vector<float>& data, int64_t width, int64_t step) {
  std::vector<float> out;
  const int64_t rows = static_cast<int64_t>(data.size()) / width;
  for (int64_t r = 0; r < rows; r += step)
    out.insert(out.end(), data.begin() + r * width, data.begin() + (r + 1) * width);
  return out;
}

std::pair<double, double> MaxMeanAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return {INFINITY, INFINITY};
  double max_diff = 0, sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= max_diff)) max_diff = d;  // NaN propagates as a failure
    sum += d;
  }
  return {max_diff, sum / static_cast<double>(a.size())};
}

const std::vector<double>& CsvTable::Column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return columns[i];
  }
  throw std::runtime_error("no column " + name);
}

CsvTable ReadCsv(const std::string& path) {
  CsvTable t;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path;
    return t;
  }
  std::string line;
  std::getline(in, line);
  std::stringstream hs(line);
  for (std::string cell; std::getline(hs, cell, ',');) t.header.push_back(cell);
  t.columns.resize(t.header.size());
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ls(line);
    size_t i = 0;
    for (std::string cell; std::getline(ls, cell, ',') && i < t.columns.size(); ++i) {
      t.columns[i].push_back(std::strtod(cell.c_str(), nullptr));
    }
  }
  return t;
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string captured;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) captured.append(buffer, n);
  const int status = pclose(pipe);
  if (output != nullptr) *output = captured;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string WavBytes(const std::vector<float>& samples, int rate, int channels, bool as_float) {
  const uint16_t format = as_float ? 3 : 1, bits = as_float ? 32 : 16;
  const uint32_t data_size = static_cast<uint32_t>(samples.size() * bits / 8);
  std::string out;
  auto put = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  auto u32 = [&](uint32_t v) { put(&v, 4); };
  auto u16 = [&](uint16_t v) { put(&v, 2); };
  out += "RIFF";
  u32(36 + data_size);
  out += "WAVEfmt ";
  u32(16);
  u16(format);
  u16(static_cast<uint16_t>(channels));
  u32(static_cast<uint32_t>(rate));
  u32(static_cast<uint32_t>(rate) * static_cast<uint32_t>(channels) * bits / 8);
  u16(static_cast<uint16_t>(channels * bits / 8));
  u16(bits);
  out += "data";
  u32(data_size);
  for (float s : samples) {
    if (as_float) {
      put(&s, 4);
    } else {
      const auto v = static_cast<int16_t>(std::lrint(std::max(-1.0f, std::min(s, 0.99997f)) * 32767));
      put(&v, 2);
    }
  }
  return out;
}

}  // namespace crepe::test
