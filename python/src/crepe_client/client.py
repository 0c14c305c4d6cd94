"""The blocking client. Thread-safe: one Client (one channel) may serve many threads at once; the
server batches their frames together.

    from crepe_client import Client
    with Client("127.0.0.1:50051") as c:
        p = c.predict(samples, 16000, model="full", decoder="viterbi")
        p.time, p.frequency, p.periodicity   # numpy arrays
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, List, Optional, Tuple

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from . import audio as audio_io
from . import options as opts
from ._pb import pitch_pb2 as pb
from ._pb import pitch_pb2_grpc as pb_grpc
from .connection import Connection
from .errors import from_rpc_error
from .results import ModelRef, Prediction, from_frames, model_ref


@dataclass(frozen=True)
class ModelStatus:
    """One model a server holds (ListModels)."""

    model: ModelRef
    state: str  # "LOADING", "READY", "FAILED"
    error: str
    embedding_width: int
    frames_processed: int
    batches_run: int
    max_batch_frames: int
    queued_frames: int


# ---- Requests and responses, shared with the asyncio client --------------------------------------

def predict_request(audio: pb.Audio, options: pb.PredictOptions, priority: Optional[str],
                    request_id: Optional[str]) -> pb.PredictRequest:
    return pb.PredictRequest(options=options, audio=audio, request_id=request_id or "",
                             priority=opts.priority(priority))


def prediction(response: pb.PredictResponse, options: pb.PredictOptions) -> Prediction:
    p = from_frames(response.frames, options)
    p.model = model_ref(response.model)
    p.request_id = response.request_id
    p.audio_seconds = response.audio_seconds
    return p


def encoded_audio(path: str) -> pb.Audio:
    with open(os.fspath(path), "rb") as f:  # OSError (FileNotFoundError, ...) names the file
        return pb.Audio(encoded=f.read())


def stream_config(options: pb.PredictOptions, sample_rate: int, channels: int, fmt: pb.SampleFormat, priority: Optional[str],
                  request_id: Optional[str]) -> pb.StreamRequest:
    return pb.StreamRequest(config=pb.StreamConfig(options=options, sample_rate_hz=int(sample_rate),
                                                   channels=channels, format=fmt, request_id=request_id or "",
                                                   priority=opts.priority(priority)))


def model_statuses(response: pb.ListModelsResponse) -> List[ModelStatus]:
    return [ModelStatus(model=model_ref(m.model), state=pb.ModelStatus.State.Name(m.state).replace("STATE_", ""),
                        error=m.error, embedding_width=m.embedding_width, frames_processed=m.frames_processed,
                        batches_run=m.batches_run, max_batch_frames=m.max_batch_frames, queued_frames=m.queued_frames)
            for m in response.models]


class StreamState:
    """What a stream learnt besides its frames: the model serving it, then the summary."""

    def __init__(self, options: pb.PredictOptions, request_id: Optional[str]):
        self.options = options
        self.request_id = request_id or ""
        self.model: Optional[ModelRef] = None
        self.frames = 0
        self.audio_seconds = 0.0
        self.request_error: Optional[BaseException] = None  # raised while making the requests

    def failure(self, error: grpc.RpcError) -> BaseException:
        """What to raise for a failed stream: the caller's own mistake (a bad chunk) first."""
        return self.request_error if self.request_error is not None else from_rpc_error(error, self.request_id)

    def take(self, response: pb.StreamResponse) -> Optional[Prediction]:
        kind = response.WhichOneof("message")
        if kind == "started":
            self.model = model_ref(response.started)
        elif kind == "summary":
            self.frames = response.summary.frames
            self.audio_seconds = response.summary.audio_seconds
        elif kind == "frames":
            p = from_frames(response.frames, self.options)
            p.model = self.model
            p.request_id = self.request_id
            return p
        return None


# ---- The client --------------------------------------------------------------------------------

class PitchStream:
    """The results of Client.stream, as they become final: iterate for one Prediction per message.
    Once iterated to the end, `model`, `frames` and `audio_seconds` hold the stream's summary.
    `cancel()` ends the call early."""

    def __init__(self, call, state: StreamState):
        self._call = call
        self._state = state

    def __iter__(self) -> Iterator[Prediction]:
        try:
            for response in self._call:
                p = self._state.take(response)
                if p is not None:
                    yield p
        except grpc.RpcError as e:
            raise self._state.failure(e) from None

    def cancel(self) -> None:
        self._call.cancel()

    @property
    def model(self) -> Optional[ModelRef]:
        return self._state.model

    @property
    def frames(self) -> int:
        return self._state.frames

    @property
    def audio_seconds(self) -> float:
        return self._state.audio_seconds


class Client:
    """A connection to crepe-server. Arguments: see `Connection` (target, tls, ca, cert, key, token,
    token_file, timeout, max_message_mb). Use as a context manager, or call close()."""

    def __init__(self, target: str = "127.0.0.1:50051", **connection: Any):
        self._connection = Connection(target, **connection)
        self._channel = self._connection.sync_channel()
        self._stub = pb_grpc.PitchServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _unary(self, method, request, timeout: Optional[float], request_id: Optional[str] = None):
        try:
            return method(request, timeout=self._connection.deadline(timeout))
        except grpc.RpcError as e:
            raise from_rpc_error(e, request_id) from None

    def predict(self, audio, sample_rate: int, *, model: str = "full", decoder: Optional[str] = None,
                hop_samples: Optional[float] = None, hop_ms: Optional[float] = None, fmin: Optional[float] = None,
                fmax: Optional[float] = None, center: bool = True, resampler: Optional[str] = None,
                post: Optional[opts.PostProcessing] = None, pitch: bool = True, periodicity: bool = True,
                confidence: bool = True, activations: bool = False, embeddings: bool = False,
                float16: bool = False, priority: Optional[str] = None, request_id: Optional[str] = None,
                timeout: Optional[float] = None) -> Prediction:
        """Pitch of a whole clip in one call.

        audio: numpy samples, 1-D (mono) or 2-D (frames, channels; averaged), float (full scale 1.0)
        or int16, at `sample_rate` Hz (any rate; the server resamples to 16 kHz).
        model: "tiny", "small", "medium", "large", "full". decoder: "argmax", "weighted_argmax",
        "viterbi", "viterbi_confidence"; None is the service's default (viterbi_confidence).
        hop_samples (at the caller's rate) or hop_ms (default 10 ms). fmin, fmax: the bins a decoder
        may choose, in Hz. center: pad 512 samples each side (frame t centred on t * hop).
        resampler: "kaiser_best" (default, the original's) or "soxr_vhq". post: PostProcessing
        (RAW for the original's raw output; None for the service's defaults).
        pitch, periodicity, confidence (default on), activations, embeddings (opt-in; float16
        halves their size): which outputs to return. priority: "interactive" or "bulk" (default).
        Raises CrepeError (with the gRPC code) on failure, ValueError for a bad argument.
        """
        options = opts.predict_options(model=model, decoder=decoder, hop_samples=hop_samples, hop_ms=hop_ms,
                                       fmin=fmin, fmax=fmax, center=center, resampler=resampler, post=post,
                                       pitch=pitch, periodicity=periodicity, confidence=confidence,
                                       activations=activations, embeddings=embeddings, float16=float16)
        request = predict_request(audio_io.pcm_audio(audio, sample_rate), options, priority, request_id)
        return prediction(self._unary(self._stub.Predict, request, timeout, request_id), options)

    def predict_file(self, path: str, *, priority: Optional[str] = None, request_id: Optional[str] = None,
                     timeout: Optional[float] = None, **options: Any) -> Prediction:
        """Pitch of an audio file (WAV, FLAC, OGG/Vorbis) sent as it is; the server decodes it. Takes
        the keyword arguments of predict. For a file larger than a message, use stream()."""
        o = opts.predict_options(**options)
        request = predict_request(encoded_audio(path), o, priority, request_id)
        return prediction(self._unary(self._stub.Predict, request, timeout, request_id), o)

    def stream(self, chunks: Iterable[Any], sample_rate: int, *, priority: Optional[str] = None,
               request_id: Optional[str] = None, timeout: Optional[float] = None, **options: Any) -> PitchStream:
        """Long or live audio: `chunks` yields numpy sample blocks of any size (all int16 or all float,
        one channel layout). Returns a PitchStream yielding each result as soon as it is final;
        Prediction.concatenate of them equals predict() on the whole audio. Takes predict's
        keyword arguments; the priority defaults to "interactive"."""
        o = opts.predict_options(**options)
        state = StreamState(o, request_id)
        requests = stream_requests(iter(chunks), state, sample_rate, priority)
        call = self._stub.StreamPredict(requests, timeout=self._connection.deadline(timeout))
        return PitchStream(call, state)

    def models(self, timeout: Optional[float] = None) -> List[ModelStatus]:
        """The models the server holds and their state."""
        return model_statuses(self._unary(self._stub.ListModels, pb.ListModelsRequest(), timeout))

    def health(self, service: str = "", timeout: Optional[float] = None) -> str:
        """grpc.health.v1 status: "SERVING" once every model is loaded, else "NOT_SERVING" (or another)."""
        response = self._unary(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


class StreamRequests:
    """Turns a stream's chunks into requests: the config (laid out from the first chunk), then each
    chunk's samples. A bad chunk raises ValueError, which ends the call; the error is kept in
    `state` so that the stream raises it rather than the CANCELLED it causes."""

    def __init__(self, state: StreamState, sample_rate: int, priority: Optional[str]):
        self._state, self._sample_rate, self._priority = state, sample_rate, priority
        self._layout: Optional[Tuple[int, pb.SampleFormat]] = None

    def config(self, first_chunk: Any) -> pb.StreamRequest:
        self._layout = audio_io.stream_layout(first_chunk if first_chunk is not None else [])
        return stream_config(self._state.options, self._sample_rate, *self._layout, self._priority,
                             self._state.request_id)

    def audio(self, chunk: Any) -> pb.StreamRequest:
        assert self._layout is not None, "config() first"
        try:
            return pb.StreamRequest(audio=audio_io.chunk_bytes(chunk, *self._layout))
        except ValueError as e:
            self._state.request_error = e
            raise


def stream_requests(chunks: Iterator[Any], state: StreamState, sample_rate: int,
                    priority: Optional[str]) -> Iterator[pb.StreamRequest]:
    make = StreamRequests(state, sample_rate, priority)
    first = next(chunks, None)
    yield make.config(first)
    if first is None:
        return
    yield make.audio(first)
    for chunk in chunks:
        yield make.audio(chunk)
