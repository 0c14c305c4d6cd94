#include "output_files.h"

#include <new>

#include "crepe/capacity.h"
#include "crepe/file_io.h"
#include "crepe/prediction.h"

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
  // Exactly crepe::WritePredictionFiles' files, then the sidecar.
  CREPE_ASSIGN_OR_RETURN(auto files, FormatPredictionFiles(p, stem, selection));
  try {
    files.emplace_back(sidecar_path, sidecar_text);  // last: it marks the group complete
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory formatting the outputs of " + stem);
  }
  return WriteFilesAtomically(files);
}

}  // namespace crepe::client
