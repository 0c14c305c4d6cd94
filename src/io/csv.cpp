// CSV outputs, formatted exactly as numpy.savetxt formats them in the original CREPE.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "crepe/file_io.h"

namespace crepe {
namespace {

// Python's '%.<precision>f' % value: printf's correctly rounded fixed notation, except that every
// NaN prints as "nan" (glibc prints a negative NaN as "-nan").
void AppendFixed(std::string* out, double value, int precision) {
  if (std::isnan(value)) {
    *out += "nan";
    return;
  }
  char buffer[400];  // DBL_MAX in %.6f is 316 characters
  const int n = std::snprintf(buffer, sizeof buffer, "%.*f", precision, value);
  if (n > 0) out->append(buffer, static_cast<size_t>(std::min<int>(n, sizeof buffer - 1)));
}

}  // namespace

std::string FormatF0Csv(const std::vector<double>& times, const std::vector<float>& frequency,
                        const std::vector<float>& confidence) {
  // np.savetxt(path, np.vstack([time, frequency, confidence]).T, fmt=['%.3f', '%.3f', '%.6f'],
  //            delimiter=',', header='time,frequency,confidence', comments='')
  const size_t rows = std::min({times.size(), frequency.size(), confidence.size()});
  std::string out = "time,frequency,confidence\n";
  out.reserve(out.size() + rows * 28);
  for (size_t i = 0; i < rows; ++i) {
    const double f = frequency[i];
    AppendFixed(&out, times[i], 3);
    out += ',';
    AppendFixed(&out, std::isnan(f) ? 0.0 : f, 3);
    out += ',';
    AppendFixed(&out, confidence[i], 6);
    out += '\n';
  }
  return out;
}

std::string FormatSeriesCsv(const std::vector<double>& times, const std::vector<float>& values,
                            const std::string& name) {
  const size_t rows = std::min(times.size(), values.size());
  std::string out = "time," + name + "\n";
  out.reserve(out.size() + rows * 20);
  for (size_t i = 0; i < rows; ++i) {
    AppendFixed(&out, times[i], 3);
    out += ',';
    AppendFixed(&out, values[i], 6);
    out += '\n';
  }
  return out;
}

}  // namespace crepe
