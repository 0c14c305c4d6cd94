#include <filesystem>
#include <system_error>

#include "crepe/capacity.h"
#include "crepe/file_io.h"
#include "crepe/prediction.h"

namespace crepe {

std::vector<std::string> PredictionFilePaths(const std::string& stem, const OutputSelection& selection) {
  std::vector<std::string> paths = {stem + ".f0.csv"};
  if (selection.activations) paths.push_back(stem + ".activation.npy");
  if (selection.embeddings) paths.push_back(stem + ".embedding.npy");
  if (selection.periodicity) paths.push_back(stem + ".periodicity.csv");
  return paths;
}

Status WritePredictionFiles(const Prediction& p, const std::string& stem, const OutputSelection& selection) {
  const int64_t n = p.frames();
  if (selection.activations && static_cast<int64_t>(p.activations.size()) != n * kPitchBins) {
    return InvalidArgumentError("activations were not computed for " + stem);
  }
  const int64_t embedding_size = int64_t{kEmbeddingRows} * p.embedding_width;
  if (selection.embeddings && static_cast<int64_t>(p.embeddings.size()) != n * embedding_size) {
    return InvalidArgumentError("embeddings were not computed for " + stem);
  }
  std::vector<std::string> written;
  auto write = [&](const std::string& path, const std::string& contents) -> Status {
    Status s = WriteFileAtomically(path, contents);
    if (s.ok()) written.push_back(path);
    return s;
  };
  Status status = write(stem + ".f0.csv", FormatF0Csv(p.time, p.frequency, p.confidence));
  if (status.ok() && selection.activations) {
    status = write(stem + ".activation.npy", EncodeNpy(p.activations.data(), {n, kPitchBins}));
  }
  if (status.ok() && selection.embeddings) {
    status = write(stem + ".embedding.npy", EncodeNpy(p.embeddings.data(), {n, kEmbeddingRows, p.embedding_width}));
  }
  if (status.ok() && selection.periodicity) {
    status = write(stem + ".periodicity.csv", FormatSeriesCsv(p.time, p.periodicity, "periodicity"));
  }
  if (!status.ok()) {
    for (const auto& path : written) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  }
  return status;
}

}  // namespace crepe
