// The files one input produces: crepe-predict's outputs, byte for byte, plus the sidecar that
// marks them complete, written as one atomic group.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "crepe/prediction.h"
#include "crepe/status.h"

namespace crepe::client {

// ".f0.csv", then ".activation.npy", ".embedding.npy", ".periodicity.csv" as selected: the
// files crepe-predict writes for <stem>, in its order.
std::vector<std::string> OutputSuffixes(const OutputSelection& selection);

// Writes <stem>.f0.csv and the selected outputs with the core's formatters (exactly what
// crepe::WritePredictionFiles writes), then `sidecar_path` last, all as one atomic group: the
// sidecar exists only once every output is complete.
Status WriteOutputsAndSidecar(const Prediction& prediction, const std::string& stem, const OutputSelection& selection,
                              const std::string& sidecar_path, const std::string& sidecar_text);

}  // namespace crepe::client
