"""Results as numpy arrays: one Prediction per call, or one per streamed message (concatenate them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional

import numpy as np

from ._pb import pitch_pb2 as pb


@dataclass(frozen=True)
class ModelRef:
    name: str            # "tiny" ... "full"
    weights_sha256: str  # of the Keras weights file the server loaded
    device: str          # e.g. "cpu", "cuda:0"


@dataclass
class Prediction:
    """Frames [first_frame, first_frame + len(time)). Unvoiced or undefined pitch is NaN. An output
    the call did not ask for is None."""

    time: np.ndarray                          # float64 seconds: the centre of each analysed window
    frequency: Optional[np.ndarray] = None    # float32 Hz
    confidence: Optional[np.ndarray] = None   # float32: the original's, the largest activation
    periodicity: Optional[np.ndarray] = None  # float32: activation at the decoded bin, post-processed
    activations: Optional[np.ndarray] = None  # float32 (frames, 360)
    embeddings: Optional[np.ndarray] = None   # float32 (frames, 32, C5/4)
    first_frame: int = 0
    model: Optional[ModelRef] = None
    request_id: str = ""
    audio_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.time)

    @staticmethod
    def concatenate(parts: Iterable["Prediction"]) -> "Prediction":
        """One Prediction from consecutive parts (a stream's messages), checking that they follow on."""
        parts = list(parts)
        if not parts:
            return Prediction(time=np.zeros(0))
        expected = parts[0].first_frame
        for p in parts:
            if p.first_frame != expected:
                raise ValueError(f"parts do not follow on: frame {p.first_frame} where {expected} was expected")
            expected += len(p)

        def join(name: str) -> Optional[np.ndarray]:
            arrays: List[Optional[np.ndarray]] = [getattr(p, name) for p in parts]
            present = [a for a in arrays if a is not None]
            return np.concatenate(present) if len(present) == len(arrays) else None

        last = parts[-1]
        return Prediction(time=np.concatenate([p.time for p in parts]), frequency=join("frequency"), confidence=join("confidence"),
                          periodicity=join("periodicity"), activations=join("activations"),
                          embeddings=join("embeddings"), first_frame=parts[0].first_frame,
                          model=last.model or parts[0].model, request_id=parts[0].request_id,
                          audio_seconds=last.audio_seconds)


def model_ref(m: pb.ModelRef) -> ModelRef:
    return ModelRef(name=m.name, weights_sha256=m.weights_sha256, device=m.device)


def _tensor(t: pb.Tensor) -> Optional[np.ndarray]:
    if not t.shape:
        return None
    dtype = "<f2" if t.encoding == pb.TENSOR_ENCODING_FLOAT16 else "<f4"
    return np.frombuffer(t.data, dtype=dtype).astype(np.float32).reshape(tuple(t.shape))


def from_frames(f: pb.PitchFrames, options: pb.PredictOptions) -> Prediction:
    """A Prediction of one PitchFrames message; `options` say which outputs were asked for."""
    n = len(f.time_s)
    out = options.outputs

    def series(values, wanted: bool) -> Optional[np.ndarray]:
        return np.asarray(values, dtype=np.float32).reshape(n) if wanted else None

    return Prediction(time=np.asarray(f.time_s, dtype=np.float64).reshape(n),
                      frequency=series(f.frequency_hz, out.pitch),
                      confidence=series(f.confidence, out.confidence),
                      periodicity=series(f.periodicity, out.periodicity),
                      activations=_tensor(f.activations) if out.activations else None,
                      embeddings=_tensor(f.embeddings) if out.embeddings else None,
                      first_frame=f.first_frame)
