"""Errors of the pitch service as Python exceptions carrying the gRPC code.

The server attaches a google.rpc.ErrorInfo (domain "crepe.v1") to the errors a caller acts on;
its reason (QUEUE_FULL, RESPONSE_TOO_LARGE, SHUTTING_DOWN, ...) is `CrepeError.reason`. Act on
`code` and `reason`, never on the message text.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import grpc
from google.rpc import error_details_pb2, status_pb2

_DETAILS_KEY = "grpc-status-details-bin"
# Reasons after which the same request may succeed if sent again later (see pitch.proto).
_RETRY_REASONS = {"QUEUE_FULL", "TOO_MANY_CALLS", "PEER_CALL_LIMIT", "BATCH_FAILED", "SHUTTING_DOWN"}


class CrepeError(Exception):
    """A failed call: `code` (grpc.StatusCode), `message` (the server's text), `reason` (the
    ErrorInfo reason, or None) and `request_id` (when the call had one)."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: Optional[str] = None,
                 request_id: Optional[str] = None):
        self.code = code
        self.message = message
        self.reason = reason
        self.request_id = request_id
        where = f" [{reason}]" if reason else ""
        super().__init__(f"{code.name}{where}: {message}")

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again later may succeed."""
        return self.code == grpc.StatusCode.UNAVAILABLE or self.reason in _RETRY_REASONS


def _reason(trailing: Optional[Sequence[Any]]) -> Optional[str]:
    for key, value in trailing or ():
        if key != _DETAILS_KEY:
            continue
        status = status_pb2.Status.FromString(value)  # type: ignore[arg-type]
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.domain == "crepe.v1":
                return info.reason
    return None


def from_rpc_error(error: grpc.RpcError, request_id: Optional[str] = None) -> CrepeError:
    """The CrepeError for a failed call (grpc.RpcError or grpc.aio.AioRpcError)."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN  # type: ignore[attr-defined]
    message = error.details() if hasattr(error, "details") else str(error)  # type: ignore[attr-defined]
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None  # type: ignore[attr-defined]
    return CrepeError(code or grpc.StatusCode.UNKNOWN, message or "", _reason(trailing), request_id)
