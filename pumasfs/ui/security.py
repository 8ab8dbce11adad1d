"""Who may talk to the UI server: this user's browser, through the URL `pumas ui` printed.

The server runs next to the user's browser, which also runs pages from every
other site.  Four checks, in this order, on every request:

1. **Host** must be the address we bound (``127.0.0.1:PORT`` or
   ``localhost:PORT``): a DNS-rebinding page (``evil.example`` resolving to
   127.0.0.1) sends its own name and is refused.
2. **Token**: a random token per run, in the printed URL; the first visit
   swaps it for an HttpOnly, SameSite=Strict cookie and redirects to the same
   URL without it (so it does not stay in the address bar or history).  A
   request with neither is refused: another local user or a page that guessed
   the port has nothing to present.
3. **State changes** (anything but GET/HEAD) must come from our own origin
   (``Origin`` header) *and* carry the CSRF token the pages embed
   (``X-CSRF-Token``).  A page on another port of 127.0.0.1 is "same site"
   for cookies, so SameSite alone would not stop it; the Origin and the CSRF
   token do.
4. **No CORS**: no ``Access-Control-Allow-*`` header is ever sent and
   preflights get 405, so another origin can never read a response.

Every response also carries a strict Content-Security-Policy (scripts and
styles from this server only), ``frame-ancestors 'none'`` against
clickjacking and ``Referrer-Policy: no-referrer`` so the token never leaks.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD"})
CSRF_HEADER = "x-csrf-token"
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        (
            b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
        ),
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


@dataclass
class Guard:
    """The secrets and addresses of one run of `pumas ui`."""

    host: str
    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def cookie_name(self) -> str:
        # Cookies ignore the port: two servers on one machine must not share one.
        return f"pumas_ui_{self.port}"

    @property
    def allowed_hosts(self) -> set[str]:
        names = {self.host, "127.0.0.1", "localhost"} if self.host in ("127.0.0.1", "localhost") else {self.host}
        out = set()
        for n in names:
            shown = f"[{n}]" if ":" in n else n
            out.add(f"{shown}:{self.port}")
        return out

    @property
    def allowed_origins(self) -> set[str]:
        return {f"http://{h}" for h in self.allowed_hosts}

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/?token={self.token}"

    def token_ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.token.encode())

    def csrf_ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.csrf.encode())


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                        *SECURITY_HEADERS, *(extra or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """The four checks above, as plain ASGI around the whole application."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        g = self.guard
        headers = _headers(scope)
        if headers.get("host") not in g.allowed_hosts:
            await _plain(send, 403, "pumas: refused: this server answers only to its own address (Host header)\n")
            return
        method = scope.get("method", "GET")
        if method == "OPTIONS":
            await _plain(send, 405, "pumas: cross-origin requests are not allowed\n")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if method in SAFE_METHODS and "token" in query:
            if not g.token_ok(query["token"]):
                await _plain(send, 403, "pumas: wrong token: open the address `pumas ui` printed\n")
                return
            rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
            location = scope.get("path", "/") + (f"?{rest}" if rest else "")
            cookie = f"{g.cookie_name}={g.token}; Path=/; HttpOnly; SameSite=Strict"
            await _plain(send, 303, "", [(b"location", location.encode()), (b"set-cookie", cookie.encode())])
            return
        if not g.token_ok(_cookie(headers.get("cookie"), g.cookie_name)):
            await _plain(send, 403, "pumas: not authorised: open the address `pumas ui` printed (it holds this run's token)\n")
            return
        if method not in SAFE_METHODS:
            if headers.get("origin") not in g.allowed_origins:
                await _plain(send, 403, "pumas: refused: request from another origin\n")
                return
            if not g.csrf_ok(headers.get(CSRF_HEADER)):
                await _plain(send, 403, "pumas: refused: missing or wrong CSRF token (reload the page)\n")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *[(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")],
                    *[(k, v) for k, v in SECURITY_HEADERS if k not in present],
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
