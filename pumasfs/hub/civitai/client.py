"""Every request pumas makes to CivitAI goes through :class:`CivitaiClient`.

Plain ``urllib`` (CivitAI's REST API needs nothing more), under the same rules
as the Hugging Face client (:mod:`pumasfs.hub.client`):

* a hard time limit per request and per batch: each request runs in a daemon
  thread we stop waiting for at the deadline;
* rate limits: CivitAI's 429s come from its edge, usually without
  ``Retry-After``, so we back off exponentially (1 s, 2 s, 4 s ... 30 s), never
  past the batch's deadline; after that CivitAI counts as down for the rest of
  the batch, so one outage costs one timeout, not one per model;
* errors as :class:`HubUnavailable` (later) or :class:`HubRefused` (no);
* the token goes in an ``Authorization`` header that is never forwarded on a
  redirect and never appears in a message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from pydantic import ValidationError

from pumasfs import __version__
from pumasfs.hub.civitai.api import CivModel, CivVersion
from pumasfs.hub.civitai.settings import CivitaiSettings
from pumasfs.hub.client import Budget, _run_bounded
from pumasfs.hub.errors import HubNotFound, HubRefused, HubUnavailable

REQUEST_TIMEOUT_S = 10.0
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
MAX_ATTEMPTS = 6  # without a deadline: 1 + 2 + 4 + 8 + 16 s of waiting at most
MAX_BATCH = 100  # hashes per POST, CivitAI's limit
MAX_IMAGE_BYTES = 16 << 20
USER_AGENT = f"pumas/{__version__}"


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes
    url: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """API calls never redirect; downloads follow redirects themselves, looking at each hop."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def open_url(url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
             token: str | None = None, timeout: float = REQUEST_TIMEOUT_S) -> Any:
    """One HTTP exchange, no redirect followed; an HTTPError is returned as the response it is."""
    req = urllib.request.Request(url, data=body, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})})
    if token:
        # Unredirected: a hop to another host (the storage CDN) never sees it.
        req.add_unredirected_header("Authorization", f"Bearer {token}")
    try:
        return _OPENER.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        return e


def backoff_s(attempt: int, retry_after: float | None = None) -> float:
    """1 s, 2 s, 4 s ... capped at 30 s; a server's Retry-After wins (also capped)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), BACKOFF_MAX_S)
    return float(min(BACKOFF_FIRST_S * 2 ** (attempt - 1), BACKOFF_MAX_S))


def retry_after_of(headers: Message | None) -> float | None:
    value = str((headers.get("Retry-After") if headers is not None else None) or "").strip()
    return float(value) if value.isdigit() else None  # CivitAI's edge rarely sends one


def error_text(body: bytes) -> str | None:
    """CivitAI's ``{"error": "..."}``, if that is what the body is."""
    try:
        obj = json.loads(body or b"null")
    except ValueError:
        return None
    if isinstance(obj, dict):
        error = obj.get("error")
        if isinstance(error, str):
            return error
    return None


@dataclass
class CivitaiClient:
    settings: CivitaiSettings
    deadline: float | None = None  # time.monotonic() value
    budget: Budget = field(default_factory=lambda: Budget(200))
    request_timeout_s: float = REQUEST_TIMEOUT_S
    max_attempts: int = MAX_ATTEMPTS
    down: str | None = None
    requests: int = 0
    waits: list[float] = field(default_factory=list)  # backoff sleeps taken

    def __post_init__(self) -> None:
        if self.settings.offline and self.down is None:
            self.down = "offline mode (CIVITAI_OFFLINE or HF_HUB_OFFLINE is set)"

    # -- plumbing --------------------------------------------------------------

    def remaining_s(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def usable(self) -> bool:
        left = self.remaining_s()
        return self.down is None and self.budget.left > 0 and (left is None or left > 0.05)

    def _timeout(self) -> float:
        left = self.remaining_s()
        if left is None:
            return self.request_timeout_s
        if left <= 0.05:
            raise HubUnavailable("CivitAI: out of time for this batch")
        return min(self.request_timeout_s, left)

    def _sleep(self, seconds: float) -> bool:
        left = self.remaining_s()
        if left is not None and seconds >= left - 0.05:
            return False
        self.waits.append(seconds)
        time.sleep(seconds)
        return True

    def exchange(self, what: str, url: str, *, method: str = "GET", body: bytes | None = None,
                 headers: dict[str, str] | None = None, max_bytes: int = 64 << 20) -> Answer:
        """One request with the batch's rules; returns any answer that is not a 429/5xx."""
        attempt = 0
        # The token goes to CivitAI's own API only, never to an image or storage host.
        token = self.settings.token if url.startswith(self.settings.endpoint + "/") else None
        while True:
            if self.down is not None:
                raise HubUnavailable(f"CivitAI unavailable: {self.down}")
            timeout = self._timeout()
            self.budget.take()
            self.requests += 1

            def fn(timeout: float = timeout) -> Answer:
                resp = open_url(url, method=method, body=body, headers=headers, token=token, timeout=timeout)
                with resp:
                    data = resp.read(max_bytes + 1)
                    if len(data) > max_bytes:
                        raise ValueError(f"answer larger than {max_bytes} bytes")
                    return Answer(resp.status if hasattr(resp, "status") else resp.code, resp.headers, data, url)

            try:
                answer = _run_bounded(fn, timeout)
            except HubUnavailable:
                self.down = f"CivitAI did not answer within {timeout:.1f} s"
                raise HubUnavailable(f"CivitAI unavailable: {self.down}") from None
            except (OSError, ValueError) as e:
                self.down = f"cannot reach {self.settings.endpoint} ({type(e).__name__})"
                raise HubUnavailable(f"CivitAI unavailable: {self.down}") from None
            if answer.status == 429 or answer.status in (408, 500, 502, 503, 504):
                attempt += 1
                wait = backoff_s(attempt, retry_after_of(answer.headers))
                if attempt < self.max_attempts and self._sleep(wait):
                    continue
                self.down = f"HTTP {answer.status} from {self.settings.endpoint}" + (
                    " (rate limited)" if answer.status == 429 else "")
                raise HubUnavailable(f"CivitAI unavailable: {self.down}")
            return answer

    def get_json(self, what: str, path: str, *, method: str = "GET", payload: Any = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        answer = self.exchange(what, f"{self.settings.endpoint}{path}", method=method, body=body, headers=headers)
        message = error_text(answer.body)
        if answer.status == 404:
            raise HubNotFound(f"{what}: not found on CivitAI" + (f" ({message})" if message else ""), kind="not_found")
        if answer.status in (401, 403):
            raise HubRefused(f"{what}: CivitAI refused (HTTP {answer.status}"
                             + (f": {message}" if message else "") + "); check CIVITAI_API_TOKEN", kind="unauthorized")
        if answer.status >= 400:
            raise HubRefused(f"{what}: CivitAI said HTTP {answer.status}" + (f": {message}" if message else ""),
                             kind="invalid")
        try:
            return json.loads(answer.body)
        except ValueError:
            self.down = f"unexpected answer from {self.settings.endpoint} (not JSON)"
            raise HubUnavailable(f"CivitAI unavailable: {self.down}") from None

    # -- the requests pumas makes ---------------------------------------------

    def by_hash(self, value: str) -> CivVersion | None:
        """The version holding a file with this hash (SHA256, BLAKE3, AutoV1/V2/V3, CRC32); None if unknown."""
        try:
            return _version(self.get_json(f"hash {value[:12]}", f"/api/v1/model-versions/by-hash/{value.strip()}"))
        except HubNotFound:
            return None

    def by_hashes(self, sha256s: Iterable[str]) -> list[CivVersion]:
        """Versions for many SHA256 at once, in POSTs of at most 100 hashes."""
        hashes = list(dict.fromkeys(h.lower() for h in sha256s))
        out: list[CivVersion] = []
        for i in range(0, len(hashes), MAX_BATCH):
            chunk = hashes[i:i + MAX_BATCH]
            data = self.get_json(f"{len(chunk)} hashes", "/api/v1/model-versions/by-hash", method="POST", payload=chunk)
            if not isinstance(data, list):
                self.down = f"unexpected answer from {self.settings.endpoint} (not a list)"
                raise HubUnavailable(f"CivitAI unavailable: {self.down}")
            out += [_version(x) for x in data]
        return out

    def version(self, version_id: int) -> CivVersion:
        return _version(self.get_json(f"model version {version_id}", f"/api/v1/model-versions/{int(version_id)}"))

    def model(self, model_id: int) -> CivModel:
        data = self.get_json(f"model {model_id}", f"/api/v1/models/{int(model_id)}")
        try:
            return CivModel.model_validate(data)
        except ValidationError:
            raise HubUnavailable(f"CivitAI unavailable: unexpected answer for model {model_id}") from None

    def image(self, url: str) -> tuple[bytes, str]:
        """A preview image's bytes and content type."""
        answer = self.exchange("preview image", url, headers={"Accept": "image/*"}, max_bytes=MAX_IMAGE_BYTES)
        if answer.status != 200:
            raise HubRefused(f"preview image: HTTP {answer.status}", kind="invalid")
        return answer.body, (answer.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def _version(data: Any) -> CivVersion:
    try:
        return CivVersion.model_validate(data)
    except ValidationError:
        raise HubUnavailable("CivitAI unavailable: unexpected answer (not a model version)") from None
