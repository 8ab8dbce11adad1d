"""Network helpers for tests that fake a service on 127.0.0.1."""

from __future__ import annotations

import socket


def closed_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
