// File formats the tools write and read: .npy arrays, the original CREPE's f0 CSV, and atomic
// (write-to-temporary-then-rename) output so no reader ever sees a half-written file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crepe/status.h"

namespace crepe {

// A float32 array with its shape (C order).
struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Reads a little-endian float32 (or float64, converted) C-order .npy file, format 1.0-3.0.
Result<NpyArray> ReadNpy(const std::string& path);
// The same from the file's bytes; `name` is what the errors call it.
Result<NpyArray> DecodeNpy(std::string_view bytes, const std::string& name);
// Serialises a float32 array as .npy format 1.0 bytes.
std::string EncodeNpy(const float* data, const std::vector<int64_t>& shape);

// A whole file's bytes: NotFound "cannot open '<path>'" when it cannot be opened, DataLoss on a
// read error.
Result<std::string> ReadFileBytes(const std::string& path);

// Writes `contents` to `path` atomically: a temporary file in the same directory, fsync, rename.
// Creates missing parent directories. On failure nothing is left at `path` or beside it.
Status WriteFileAtomically(const std::string& path, const std::string& contents);

// Several files (path, contents) as one: all are written to temporaries first and renamed into
// place only when every one is complete, so a failure while writing changes none of the targets.
Status WriteFilesAtomically(const std::vector<std::pair<std::string, std::string>>& files);

// The original CREPE's <name>.f0.csv: header "time,frequency,confidence", rows
// "%.3f,%.3f,%.6f", NaN frequency written as 0.
std::string FormatF0Csv(const std::vector<double>& times, const std::vector<float>& frequency,
                        const std::vector<float>& confidence);

// One float column per frame ("time,<name>" header), for periodicity and similar outputs.
std::string FormatSeriesCsv(const std::vector<double>& times, const std::vector<float>& values,
                            const std::string& name);

}  // namespace crepe
