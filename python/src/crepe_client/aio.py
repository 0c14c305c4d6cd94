"""The asyncio client (grpc.aio), for services: the same calls as Client, awaited.

    async with AsyncClient("crepe:50051") as c:
        p = await c.predict(samples, 16000, model="tiny")
        async for part in c.stream(chunks, 16000, model="tiny"):
            ...

One AsyncClient belongs to one event loop; calls may run concurrently on it.
"""

from __future__ import annotations

from typing import Any, AsyncIterable, AsyncIterator, Iterable, List, Optional, Union

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from . import audio as audio_io
from . import options as opts
from ._pb import pitch_pb2 as pb
from ._pb import pitch_pb2_grpc as pb_grpc
from .client import (ModelStatus, StreamRequests, StreamState, encoded_audio, model_statuses, prediction,
                     predict_request, stream_requests)
from .connection import Connection
from .errors import from_rpc_error
from .results import Prediction

Chunks = Union[Iterable[Any], AsyncIterable[Any]]


class AsyncClient:
    """Arguments as Client's (see Connection). Use `async with`, or await close()."""

    def __init__(self, target: str = "127.0.0.1:50051", **connection: Any):
        self._connection = Connection(target, **connection)
        self._channel = self._connection.aio_channel()
        self._stub = pb_grpc.PitchServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _unary(self, method, request, timeout: Optional[float], request_id: Optional[str] = None):
        try:
            return await method(request, timeout=self._connection.deadline(timeout))
        except grpc.RpcError as e:
            raise from_rpc_error(e, request_id) from None

    async def predict(self, audio, sample_rate: int, *, priority: Optional[str] = None,
                      request_id: Optional[str] = None, timeout: Optional[float] = None,
                      **options: Any) -> Prediction:
        """Client.predict, awaited (same keyword arguments)."""
        o = opts.predict_options(**options)
        request = predict_request(audio_io.pcm_audio(audio, sample_rate), o, priority, request_id)
        return prediction(await self._unary(self._stub.Predict, request, timeout, request_id), o)

    async def predict_file(self, path: str, *, priority: Optional[str] = None, request_id: Optional[str] = None,
                           timeout: Optional[float] = None, **options: Any) -> Prediction:
        """Client.predict_file, awaited."""
        o = opts.predict_options(**options)
        request = predict_request(encoded_audio(path), o, priority, request_id)
        return prediction(await self._unary(self._stub.Predict, request, timeout, request_id), o)

    async def stream(self, chunks: Chunks, sample_rate: int, *, priority: Optional[str] = None,
                     request_id: Optional[str] = None, timeout: Optional[float] = None,
                     **options: Any) -> AsyncIterator[Prediction]:
        """Client.stream as an async generator; `chunks` may be a plain or an async iterable."""
        o = opts.predict_options(**options)
        state = StreamState(o, request_id)
        call = self._stub.StreamPredict(_async_requests(chunks, state, sample_rate, priority),
                                        timeout=self._connection.deadline(timeout))
        try:
            async for response in call:
                p = state.take(response)
                if p is not None:
                    yield p
        except grpc.RpcError as e:
            raise state.failure(e) from None
        finally:
            call.cancel()  # no-op once the call has ended; ends it if the caller stopped early

    async def models(self, timeout: Optional[float] = None) -> List[ModelStatus]:
        return model_statuses(await self._unary(self._stub.ListModels, pb.ListModelsRequest(), timeout))

    async def health(self, service: str = "", timeout: Optional[float] = None) -> str:
        response = await self._unary(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


async def _async_requests(chunks: Chunks, state: StreamState, sample_rate: int,
                          priority: Optional[str]) -> AsyncIterator[pb.StreamRequest]:
    if not hasattr(chunks, "__aiter__"):
        for request in stream_requests(iter(chunks), state, sample_rate, priority):  # type: ignore[arg-type]
            yield request
        return
    make = StreamRequests(state, sample_rate, priority)
    configured = False
    async for chunk in chunks:  # type: ignore[union-attr]
        if not configured:
            yield make.config(chunk)
            configured = True
        yield make.audio(chunk)
    if not configured:
        yield make.config(None)
