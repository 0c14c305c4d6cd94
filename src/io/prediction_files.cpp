#include <new>
#include <string>
#include <utility>
#include <vector>

#include "crepe/capacity.h"
#include "crepe/file_io.h"
#include "crepe/prediction.h"

namespace crepe {

Status WritePredictionFiles(const Prediction& p, const std::string& stem, const OutputSelection& selection) {
  const int64_t n = p.frames();
  if (selection.activations && static_cast<int64_t>(p.activations.size()) != n * kPitchBins) {
    return InvalidArgumentError("activations were not computed for " + stem);
  }
  const int64_t embedding_size = int64_t{kEmbeddingRows} * p.embedding_width;
  if (selection.embeddings && static_cast<int64_t>(p.embeddings.size()) != n * embedding_size) {
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
    return WriteFilesAtomically(files);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory formatting the outputs of " + stem);
  }
}

}  // namespace crepe
