// The official weights as torchcrepe state dicts, so that torchcrepe users get all five capacities.
#pragma once

#include <string>

#include "crepe/status.h"
#include "crepe/weights.h"

namespace crepe {

// Serialises `weights` as the state dict of torchcrepe's `Crepe` module for its capacity (the
// bytes of a `.pth` file that Python's `torch.load` reads): parameter and buffer names, shapes and
// dtypes exactly as torchcrepe's own tiny.pth and full.pth, in the module's order —
// conv1..conv6 (weight (Cout, Cin, k, 1), bias), conv1_BN..conv6_BN (weight, bias, running_mean,
// running_var, num_batches_tracked = 0), classifier (weight (360, 4 C6), bias).
Result<std::string> EncodeTorchcrepeStateDict(const CrepeWeights& weights);

// EncodeTorchcrepeStateDict written atomically to `path`.
Status WriteTorchcrepeStateDict(const CrepeWeights& weights, const std::string& path);

}  // namespace crepe
