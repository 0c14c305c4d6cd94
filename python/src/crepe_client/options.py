"""What a call asks for: model, decoder, hop, range, post-processing and outputs, as plain Python
values turned into the service's PredictOptions (one place, used by the sync and async clients)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union, cast

from ._pb import pitch_pb2 as pb

MODELS = ("tiny", "small", "medium", "large", "full")
DECODERS = ("argmax", "weighted_argmax", "viterbi", "viterbi_confidence")
_PRIORITIES = {"interactive": pb.PRIORITY_INTERACTIVE, "bulk": pb.PRIORITY_BULK}
_RESAMPLERS = {"kaiser_best": pb.RESAMPLER_KAISER_BEST, "soxr_vhq": pb.RESAMPLER_SOXR_VHQ}


@dataclass(frozen=True)
class Hysteresis:
    """torchcrepe's hysteresis threshold; None takes torchcrepe's default."""

    lower: Optional[float] = None  # 0.19
    upper: Optional[float] = None  # 0.31
    width: Optional[float] = None  # 0.2
    stds: Optional[float] = None   # 1.7


@dataclass(frozen=True)
class PostProcessing:
    """Applied in this order: silence gate, periodicity median, voicing threshold (or hysteresis),
    pitch mean. Every field is off unless set: `PostProcessing()` is the raw decoder output, as
    the original CREPE gives it. Passing no PostProcessing at all (None) gets the service's
    defaults instead (periodicity median over 3 frames, voicing threshold 0.5)."""

    silence_db: Optional[float] = None
    silence_reference_db: Optional[float] = None
    periodicity_median_window: int = 0
    voicing_threshold: Optional[float] = None
    hysteresis: Optional[Hysteresis] = None
    pitch_mean_window: int = 0


RAW = PostProcessing()


def _choice(value: str, allowed, what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def capacity(model: str) -> pb.Capacity:
    return cast(pb.Capacity, pb.Capacity.Value("CAPACITY_" + _choice(model, MODELS, "model").upper()))


def priority(value: Optional[str]) -> pb.Priority:
    if value is None:
        return pb.PRIORITY_UNSPECIFIED
    return cast(pb.Priority, _PRIORITIES[_choice(value, tuple(_PRIORITIES), "priority")])


def predict_options(*, model: str = "full", decoder: Optional[str] = None, hop_samples: Optional[float] = None,
                    hop_ms: Optional[float] = None, fmin: Optional[float] = None, fmax: Optional[float] = None,
                    center: bool = True, resampler: Optional[str] = None, post: Optional[PostProcessing] = None,
                    pitch: bool = True, periodicity: bool = True, confidence: bool = True,
                    activations: bool = False, embeddings: bool = False,
                    float16: bool = False) -> pb.PredictOptions:
    """The PredictOptions message for these arguments (see Client.predict)."""
    o = pb.PredictOptions(model=capacity(model), center=center)
    if hop_samples is not None and hop_ms is not None:
        raise ValueError("give hop_samples or hop_ms, not both")
    if hop_samples is not None:
        o.hop_samples = float(hop_samples)
    elif hop_ms is not None:
        o.hop_ms = float(hop_ms)
    if decoder is not None:
        o.decoder = cast(pb.Decoder, pb.Decoder.Value("DECODER_" + _choice(decoder, DECODERS, "decoder").upper()))
    if fmin is not None:
        o.fmin_hz = float(fmin)
    if fmax is not None:
        o.fmax_hz = float(fmax)
    if resampler is not None:
        o.resampler = _RESAMPLERS[_choice(resampler, tuple(_RESAMPLERS), "resampler")]
    if post is not None:
        o.post.SetInParent()  # present even when empty: "exactly these, nothing else"
        for name in ("silence_db", "silence_reference_db", "voicing_threshold"):
            if getattr(post, name) is not None:
                setattr(o.post, name, float(getattr(post, name)))
        o.post.periodicity_median_window = post.periodicity_median_window
        o.post.pitch_mean_window = post.pitch_mean_window
        if post.hysteresis is not None:
            o.post.hysteresis.SetInParent()
            for name in ("lower", "upper", "width", "stds"):
                if getattr(post.hysteresis, name) is not None:
                    setattr(o.post.hysteresis, name, float(getattr(post.hysteresis, name)))
    o.outputs.pitch = pitch
    o.outputs.periodicity = periodicity
    o.outputs.confidence = confidence
    o.outputs.activations = activations
    o.outputs.embeddings = embeddings
    o.outputs.tensor_encoding = pb.TENSOR_ENCODING_FLOAT16 if float16 else pb.TENSOR_ENCODING_FLOAT32
    return o


# The keyword arguments predict_options takes, for callers that pass them through.
OptionValue = Union[str, float, bool, None, PostProcessing]
