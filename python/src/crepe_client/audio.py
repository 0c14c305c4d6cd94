"""Audio as the service takes it: numpy samples as PCM (float32 or int16, interleaved channels)."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._pb import pitch_pb2 as pb


def as_samples(audio, what: str = "audio") -> np.ndarray:
    """`audio` as a (frames, channels) array of float32 or int16: a 1-D array is mono, a 2-D
    array is (frames, channels); other floats become float32, other integers are refused."""
    a = np.asarray(audio)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{what} must be 1-D (mono) or 2-D (frames, channels), not of shape {a.shape}")
    if a.dtype == np.int16:
        return np.ascontiguousarray(a, dtype="<i2")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{what} must hold floats (full scale 1.0) or int16 samples, not {a.dtype}")
    return np.ascontiguousarray(a, dtype="<f4")


def pcm_format(samples: np.ndarray) -> pb.SampleFormat:
    return pb.SAMPLE_FORMAT_INT16 if samples.dtype == np.dtype("<i2") else pb.SAMPLE_FORMAT_FLOAT32


def pcm_audio(audio, sample_rate: int) -> pb.Audio:
    samples = as_samples(audio)
    return pb.Audio(pcm=pb.PcmAudio(sample_rate_hz=int(sample_rate), channels=samples.shape[1],
                                    format=pcm_format(samples), data=samples.tobytes()))


def chunk_bytes(chunk, channels: int, fmt: pb.SampleFormat) -> bytes:
    """One stream chunk's bytes in the stream's format and channel count."""
    samples = as_samples(chunk, "a stream chunk")
    if samples.shape[1] != channels:
        raise ValueError(f"a stream chunk has {samples.shape[1]} channels; the stream was configured with {channels}")
    if pcm_format(samples) != fmt:
        raise ValueError("every chunk of a stream must hold the same kind of samples as the first (int16 or float)")
    return samples.tobytes()


def stream_layout(first_chunk) -> Tuple[int, pb.SampleFormat]:
    """(channels, format) of a stream, from its first chunk."""
    samples = as_samples(first_chunk, "a stream chunk")
    return samples.shape[1], pcm_format(samples)
