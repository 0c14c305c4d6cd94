"""How a client reaches the server: target, TLS, token, timeouts and message limits, shared by
Client and AsyncClient."""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import grpc

def _read(path: Optional[str], what: str) -> Optional[bytes]:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise type(e)(e.errno, f"cannot read the {what}", path) from None


def _first_token(text: bytes) -> Optional[str]:
    """A token file's first token: its first line that is neither blank nor a '#' comment."""
    for line in text.decode().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return None


class Connection:
    """Settings of a channel to crepe-server.

    target: "host:port" (or any gRPC target, e.g. "dns:///crepe:50051" for every address of a name).
    tls: use TLS; implied by ca, cert or key. ca: PEM file of the certificate authority to trust
    (default: the system's). cert, key: PEM files of a client certificate, for mutual TLS.
    token, token_file (its first token; or $CREPE_TOKEN): a bearer token sent as
    `authorization: Bearer ...` with every call; needs TLS. timeout: default deadline of a call in
    seconds (None: no deadline).
    max_message_mb: largest message sent or received.
    """

    def __init__(self, target: str = "127.0.0.1:50051", *, tls: bool = False, ca: Optional[str] = None,
                 cert: Optional[str] = None, key: Optional[str] = None, token: Optional[str] = None,
                 token_file: Optional[str] = None, timeout: Optional[float] = None, max_message_mb: int = 64,
                 channel_options: Sequence[Tuple[str, object]] = ()):
        if (cert is None) != (key is None):
            raise ValueError("a client certificate needs both cert and key")
        if token is not None and token_file is not None:
            raise ValueError("give token or token_file, not both")
        tls = tls or ca is not None or cert is not None
        if token_file is not None:
            token = _first_token(_read(token_file, "token file") or b"")
            if not token:
                raise ValueError(f"the token file {token_file} holds no token")
        elif token is None and tls:
            token = os.environ.get("CREPE_TOKEN") or None
        if token and not tls:
            raise ValueError("a bearer token needs TLS (tls=True or ca=...): it must not travel in plain text")
        self.target = target
        self.timeout = timeout
        self.credentials: Optional[grpc.ChannelCredentials] = None
        if tls:
            self.credentials = grpc.ssl_channel_credentials(root_certificates=_read(ca, "CA certificate"),
                                                            private_key=_read(key, "client key"),
                                                            certificate_chain=_read(cert, "client certificate"))
            if token:
                # gRPC's own mechanism: "authorization: Bearer <token>" on every call of the channel.
                self.credentials = grpc.composite_channel_credentials(self.credentials,
                                                                      grpc.access_token_call_credentials(token))
        limit = int(max_message_mb) << 20
        # round_robin spreads calls over every address a name resolves to (a headless Service).
        self.options: List[Tuple[str, object]] = [("grpc.max_receive_message_length", limit),
                                                  ("grpc.max_send_message_length", limit),
                                                  ("grpc.lb_policy_name", "round_robin"),
                                                  # a dead server or dropped NAT mapping is found after a minute
                                                  ("grpc.keepalive_time_ms", 60000),
                                                  ("grpc.keepalive_timeout_ms", 20000)]
        self.options += list(channel_options)

    def deadline(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is None else timeout

    def sync_channel(self) -> grpc.Channel:
        if self.credentials is None:
            return grpc.insecure_channel(self.target, options=self.options)
        return grpc.secure_channel(self.target, self.credentials, options=self.options)

    def aio_channel(self) -> grpc.aio.Channel:
        if self.credentials is None:
            return grpc.aio.insecure_channel(self.target, options=self.options)
        return grpc.aio.secure_channel(self.target, self.credentials, options=self.options)
