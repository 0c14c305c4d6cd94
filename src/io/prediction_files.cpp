#include <new>
#include <string>
#include <utility>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/file_io.h"
#include "crepe/prediction.h"

namespace crepe {

Result<std::vector<std::pair<std::string, std::string>>> FormatPredictionFiles(const Prediction& p,
                                                                               const std::string& stem,
                                                                               const OutputSelection& selection) {
  const int64_t n = p.frames();
  const auto rows = static_cast<size_t>(n);
  if (p.frequency.size() != rows || p.confidence.size() != rows) {
    return InvalidArgumentError("frequency or confidence missing for " + stem);
  }
  if (selection.periodicity && p.periodicity.size() != rows) {
    return InvalidArgumentError("periodicity was not computed for " + stem);
  }
  if (selection.activations && static_cast<int64_t>(p.activations.size()) != n * kPitchBins) {
    return InvalidArgumentError("activations were not computed for " + stem);
  }
  const int64_t embedding_size = int64_t{kEmbeddingRows} * p.embedding_width;
  if (selection.embeddings &&
      (p.embedding_width <= 0 || static_cast<int64_t>(p.embeddings.size()) != n * embedding_size)) {
    return InvalidArgumentError("embeddings were not computed for " + stem);
  }
  try {
    std::vector<std::pair<std::string, std::string>> files;
    files.emplace_back(stem + ".f0.csv", FormatF0Csv(p.time, p.frequency, p.confidence));
    if (selection.activations) {
      files.emplace_back(stem + ".activation.npy", EncodeNpy(p.activations.data(), {n, kPitchBins}));
    }
    if (selection.embeddings) {
      files.emplace_back(stem + ".embedding.npy",
                         EncodeNpy(p.embeddings.data(), {n, kEmbeddingRows, p.embedding_width}));
    }
    if (selection.periodicity) {
      files.emplace_back(stem + ".periodicity.csv", FormatSeriesCsv(p.time, p.periodicity, "periodicity"));
    }
    return files;
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory formatting the outputs of " + stem);
  }
}

Status WritePredictionFiles(const Prediction& p, const std::string& stem, const OutputSelection& selection) {
  CREPE_ASSIGN_OR_RETURN(auto files, FormatPredictionFiles(p, stem, selection));
  return WriteFilesAtomically(files);
}

}  // namespace crepe
