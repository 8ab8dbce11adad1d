"""What every fake network service in the tests shares: a real HTTP server on 127.0.0.1.

A fake (the Hugging Face hub, CivitAI) subclasses :class:`FakeService` for its
content and :class:`ServiceHandler` for its answers, and keeps only what its
service answers: a route table (method, path pattern, handler) and the shapes
of its replies.  The rest is here, once:

* the server thread, ``url``, ``start``/``stop`` (also a context manager);
* the request log (``seen``, ``requests(pattern)``: "METHOD /path" lines);
* behaviours a test switches on: the next N matching requests fail
  (``fail``), every request waits (``delay_s``, cut short by ``release``),
  a whole-file transfer stalls or drops after N bytes (``stall_after`` /
  ``drop_after``, keyed as each fake names its files);
* file bodies with ``Range: bytes=A-[B]`` support, sent in chunks.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

CHUNK = 64 * 1024
RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class Failure:
    pattern: re.Pattern[str]
    status: int
    count: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request as the fake received it (header names in lower case)."""

    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float  # time.monotonic()
    body: bytes = b""
    status: int = 0


class FakeService:
    """The server, its request log and the switchable misbehaviours; content lives in subclasses."""

    handler: ClassVar[type[ServiceHandler]]

    def __init__(self, token: str) -> None:
        self.token = token
        self.seen: list[Seen] = []
        self.failures: list[Failure] = []
        self.delay_s = 0.0
        self.stall_after: dict[Hashable, int] = {}  # file key -> bytes sent before hanging (until `release`)
        self.drop_after: dict[Hashable, int] = {}  # file key -> bytes sent before closing (once)
        self.release = threading.Event()  # set: delayed requests and stalled transfers end now
        self._lock = threading.Lock()
        handler = type(f"{type(self).__name__}Handler", (self.handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, pattern: str, status: int = 429, count: int = 1, **headers: str) -> None:
        """The next ``count`` requests whose "METHOD /path" matches ``pattern`` answer ``status``.

        Header names are keyword arguments with ``_`` for ``-`` (``Retry_After="1"``).
        """
        self.failures.append(Failure(re.compile(pattern), status, count, {k.replace("_", "-"): v for k, v in headers.items()}))

    def requests(self, pattern: str = "") -> list[Seen]:
        rx = re.compile(pattern)
        with self._lock:
            return [s for s in self.seen if rx.search(f"{s.method} {s.path}")]

    def take_failure(self, line: str) -> Failure | None:
        with self._lock:
            for f in self.failures:
                if f.count > 0 and f.pattern.search(line):
                    f.count -= 1
                    return f
        return None

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


Endpoint = Callable[..., None]  # (handler, *path groups) -> None


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    endpoint: Endpoint


def route(methods: str, pattern: str, endpoint: Endpoint) -> Route:
    """``route("GET HEAD", r"/api/x/(\\d+)", Handler.x)``: the path must match the whole pattern."""
    return Route(frozenset(methods.split()), re.compile(pattern), endpoint)


class ServiceHandler(BaseHTTPRequestHandler):
    """Records the request, applies the fake's misbehaviours, then calls the first route that matches."""

    fake: ClassVar[FakeService]
    routes: ClassVar[list[Route]] = []
    protocol_version = "HTTP/1.1"
    seen: Seen

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- what a fake answers with --------------------------------------------

    @property
    def query(self) -> dict[str, list[str]]:
        return self.seen.query

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
             ctype: str = "application/json") -> None:
        self.seen.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(obj).encode(), headers)

    def refuse(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        """An error the service's own way; the default is ``{"error": message}``."""
        self.json({"error": message}, status, headers)

    def on_failure(self, failure: Failure) -> None:
        """The answer to a request ``fail()`` picked (a rate limit, a server error)."""
        self.refuse(failure.status, f"fake failure {failure.status}", failure.headers)

    def not_found(self) -> None:
        self.refuse(404, "Not found")

    def send_file(self, data: bytes, headers: dict[str, str], *, key: Hashable) -> None:
        """``data`` with Range support; ``key`` names the file in ``stall_after``/``drop_after``."""
        fake = self.fake
        status, start, end = 200, 0, len(data) - 1
        rng = self.headers.get("Range")
        if rng and (m := RANGE.fullmatch(rng.strip())):
            start = int(m.group(1))
            if start >= len(data):
                self.refuse(416, "range not satisfiable", {"Content-Range": f"bytes */{len(data)}"})
                return
            end = min(int(m.group(2)), end) if m.group(2) else end
            status = 206
            headers = {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"}
        body = data[start : end + 1]
        self.seen.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        # Misbehaviours apply to a whole-file transfer: the client's resume (206) goes through.
        stall = fake.stall_after.get(key) if status == 200 else None
        with fake._lock:
            drop = fake.drop_after.pop(key, None) if status == 200 else None
        cut = min(x for x in (stall, drop, len(body)) if x is not None)
        try:
            for i in range(0, cut, CHUNK):
                self.wfile.write(body[i : min(i + CHUNK, cut)])
            self.wfile.flush()
            if cut < len(body):
                if stall is not None and cut == stall:
                    fake.release.wait(120)  # hold the connection open, sending nothing
                self.close_connection = True  # the client sees a body cut short
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- dispatch -------------------------------------------------------------

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if self.command == "POST" else b""
        self.seen = Seen(self.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()},
                         time.monotonic(), body)
        fake = self.fake
        fake.record(self.seen)
        if fake.delay_s and fake.release.wait(fake.delay_s):
            self.close_connection = True  # the service is shutting down, or the test let go
            return
        failure = fake.take_failure(f"{self.command} {parts.path}")
        if failure is not None:
            return self.on_failure(failure)
        for r in self.routes:
            if self.command in r.methods and (m := r.pattern.fullmatch(parts.path)):
                return r.endpoint(self, *m.groups())
        self.not_found()

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()
