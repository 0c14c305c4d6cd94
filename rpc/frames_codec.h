// Prediction rows <-> crepe.v1.PitchFrames, with the float16 option for the large outputs.
#pragma once

#include <cstdint>

#include "crepe/prediction.h"
#include "crepe/status.h"
#include "crepe/v1/pitch.pb.h"
#include "request_codec.h"

namespace crepe::rpc {

// Rows [0, p.frames()) of `p`, which are frames [first_frame, first_frame + p.frames()) of the
// clip, into `out` (only the outputs selected).
void EncodeFrames(const Prediction& p, int64_t first_frame, const WireOutputs& outputs, v1::PitchFrames* out);

// Appends the frames of `in` to `p` (the client reassembling a clip from responses). Checks that
// they follow on (first_frame == p.frames()) and that every present series has one value per
// frame and tensors the right shape. Series that are absent stay empty in `p`.
Status AppendFrames(const v1::PitchFrames& in, Prediction& p);

// IEEE 754 binary16 conversions (round to nearest even; NaN and Inf preserved).
uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t value);

}  // namespace crepe::rpc
