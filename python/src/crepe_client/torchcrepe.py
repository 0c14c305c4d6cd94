"""torchcrepe's `predict`, answered by crepe-server: migrating is a one-line change,

    import torchcrepe                          ->   from crepe_client import torchcrepe
    pitch, periodicity = torchcrepe.predict(audio, sr, hop_length, fmin, fmax, "full",
                                            decoder=torchcrepe.decode.viterbi, return_periodicity=True)

with the server named by `server=` or $CREPE_SERVER (default 127.0.0.1:50051). The results are
CREPE's as the original computes it, so they differ from torchcrepe's in these ways: no random
dither of the pitch; frames normalised by the original's rule (population std, floor 1e-8); the hop converted exactly (torchcrepe
truncates hop_length * 16000 / sample_rate); the Viterbi decoder is the original CREPE's (torchcrepe
uses its own transition matrix); all five capacities ("tiny" ... "full"); `device` and `batch_size`
are the server's business and ignored here. Returned arrays have torchcrepe's shape (1, frames):
torch tensors when `audio` is one, numpy arrays otherwise.
"""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace
from typing import Any, Dict, Optional

import numpy as np

from .client import Client
from .options import RAW

SAMPLE_RATE = 16000
MAX_FMAX = 2006.0
# torchcrepe.decode.argmax / weighted_argmax / viterbi, by the names the server knows.
decode = SimpleNamespace(argmax="argmax", weighted_argmax="weighted_argmax", viterbi="viterbi")

_clients: Dict[str, Client] = {}
_clients_lock = threading.Lock()


def _client(server: Optional[str]) -> Client:
    target = server or os.environ.get("CREPE_SERVER", "127.0.0.1:50051")
    with _clients_lock:
        if target not in _clients:
            _clients[target] = Client(target)
        return _clients[target]


def _decoder_name(decoder: Any) -> str:
    name = decoder if isinstance(decoder, str) else getattr(decoder, "__name__", "")
    if name not in ("argmax", "weighted_argmax", "viterbi"):
        raise ValueError(f"decoder must be torchcrepe's argmax, weighted_argmax or viterbi, not {decoder!r}")
    return name


def predict(audio: Any, sample_rate: int, hop_length: Optional[int] = None, fmin: float = 50.0,
            fmax: float = MAX_FMAX, model: str = "full", decoder: Any = "viterbi", return_harmonicity: bool = False,
            return_periodicity: bool = False, device: Any = None, pad: bool = True, batch_size: Optional[int] = None,
            *, server: Optional[str] = None, client: Optional[Client] = None):
    """torchcrepe.predict's arguments and results (see the module's notes). Returns pitch (1, frames),
    and periodicity (1, frames) too when return_periodicity (or the deprecated return_harmonicity)."""
    del device, batch_size  # the server's
    is_torch = type(audio).__module__.startswith("torch")
    samples = audio.detach().cpu().numpy() if is_torch else np.asarray(audio)
    if samples.ndim == 2 and samples.shape[0] == 1:
        samples = samples[0]
    if samples.ndim != 1:
        raise ValueError(f"audio must be (1, samples) or (samples,), as torchcrepe takes it; not {samples.shape}")
    hop = sample_rate // 100 if hop_length is None else hop_length
    want_periodicity = return_periodicity or return_harmonicity
    result = (client or _client(server)).predict(samples, sample_rate, model=model, decoder=_decoder_name(decoder),
                                                 hop_samples=hop, fmin=fmin, fmax=fmax, center=pad, post=RAW,
                                                 confidence=False, periodicity=want_periodicity)
    assert result.frequency is not None and (result.periodicity is not None or not want_periodicity)
    outputs = [result.frequency[None, :]]
    if want_periodicity:
        outputs.append(result.periodicity[None, :])  # type: ignore[index]
    if is_torch:
        import torch

        outputs = [torch.from_numpy(np.ascontiguousarray(o)) for o in outputs]
    return tuple(outputs) if want_periodicity else outputs[0]
