#include "output_files.h"

#include <new>

#include "crepe/capacity.h"
#include "crepe/file_io.h"

namespace crepe::client {
namespace {

// What the server sent must fill every column we write (a short series would misalign rows).
Status CheckComplete(const Prediction& p, const OutputSelection& selection) {
  const size_t n = p.time.size();
  if (p.frequency.size() != n || p.confidence.size() != n) {
    return DataLossError("the server's response lacks frequency or confidence values");
  }
  if (selection.periodicity && p.periodicity.size() != n) {
    return DataLossError("the server's response lacks periodicity values");
  }
  if (selection.activations && p.activations.size() != n * kPitchBins) {
    return DataLossError("the server's response lacks activations");
  }
  if (selection.embeddings &&
      (p.embedding_width <= 0 || p.embeddings.size() != n * kEmbeddingRows * static_cast<size_t>(p.embedding_width))) {
    return DataLossError("the server's response lacks embeddings");
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::string> OutputSuffixes(const OutputSelection& selection) {
  std::vector<std::string> suffixes = {".f0.csv"};
  if (selection.activations) suffixes.push_back(".activation.npy");
  if (selection.embeddings) suffixes.push_back(".embedding.npy");
  if (selection.periodicity) suffixes.push_back(".periodicity.csv");
  return suffixes;
}

Status WriteOutputsAndSidecar(const Prediction& p, const std::string& stem, const OutputSelection& selection,
                              const std::string& sidecar_path, const std::string& sidecar_text) {
  CREPE_RETURN_IF_ERROR(CheckComplete(p, selection));
  const int64_t n = p.frames();
  try {
    // Same formatters, same order as crepe::WritePredictionFiles (src/io/prediction_files.cpp).
    std::vector<std::pair<std::string, std::string>> files;
    for (const std::string& suffix : OutputSuffixes(selection)) {
      std::string contents;
      if (suffix == ".f0.csv") {
        contents = FormatF0Csv(p.time, p.frequency, p.confidence);
      } else if (suffix == ".activation.npy") {
        contents = EncodeNpy(p.activations.data(), {n, kPitchBins});
      } else if (suffix == ".embedding.npy") {
        contents = EncodeNpy(p.embeddings.data(), {n, kEmbeddingRows, p.embedding_width});
      } else {
        contents = FormatSeriesCsv(p.time, p.periodicity, "periodicity");
      }
      files.emplace_back(stem + suffix, std::move(contents));
    }
    files.emplace_back(sidecar_path, sidecar_text);  // last: it marks the group complete
    return WriteFilesAtomically(files);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory formatting the outputs of " + stem);
  }
}

}  // namespace crepe::client
