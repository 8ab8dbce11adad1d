"""Every request pumas makes to the hub goes through :class:`HubClient`.

It holds what huggingface_hub leaves to the caller:

* the switches, read at call time (:class:`HubSettings`): the endpoint and
  token are passed to ``HfApi`` explicitly, and ``HF_HUB_OFFLINE`` means not
  one packet;
* a hard time limit per request and per batch.  Some ``HfApi`` calls have no
  timeout at all, and paginated ones retry on their own for up to ~25 s, so
  each call runs in a daemon thread we stop waiting for; nothing that thread
  could still return is ever written anywhere;
* our retries: HTTP 429 waits for ``Retry-After`` (when it fits in the
  deadline), 5xx backs off briefly; after that the hub counts as down for the
  rest of the batch, so one outage costs one timeout, not one per model;
* a request budget per batch;
* a refused connection (or a host name DNS says does not exist) is an answer:
  the first request of a batch gives up at once instead of letting the
  client's own retries wait out the deadline;
* errors turned into :class:`HubUnavailable` (later) or :class:`HubRefused` (no).
"""

from __future__ import annotations

import functools
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pumasfs.hub.cache import HubFile, RepoSnapshot, SearchHit
from pumasfs.hub.errors import HubNotFound, HubRefused, HubUnavailable
from pumasfs.hub.settings import HubSettings

T = TypeVar("T")

if TYPE_CHECKING:
    from huggingface_hub import HfApi

REQUEST_TIMEOUT_S = 10.0
# list_models retries connection errors by itself (sleeping 1, 2, 4... s) and takes
# no timeout: bound it tighter so that a dead network costs seconds, not half a minute.
SEARCH_TIMEOUT_S = 5.0
MAX_RETRIES = 2
DEFAULT_BUDGET = 100


@dataclass
class Budget:
    """How many requests one batch may make."""

    limit: int = DEFAULT_BUDGET
    used: int = 0

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)

    def take(self) -> None:
        if self.used >= self.limit:
            raise HubUnavailable(f"request budget of {self.limit} for this batch is spent")
        self.used += 1


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _run_bounded(fn: Callable[[], T], timeout_s: float) -> T:
    """fn() in a daemon thread; HubUnavailable if it has not returned in time."""
    out = _Outcome()

    def target() -> None:
        try:
            out.value = fn()
        except BaseException as e:  # handed to the waiting thread
            out.error = e
        finally:
            out.done.set()

    threading.Thread(target=target, name="pumas-hub", daemon=True).start()
    if not out.done.wait(max(0.0, timeout_s)):
        raise HubUnavailable(f"the hub did not answer within {timeout_s:.1f} s")
    if out.error is not None:
        raise out.error
    return cast(T, out.value)


def unreachable(endpoint: str, timeout_s: float) -> str | None:
    """Why nothing can be listening at the endpoint, when the network says so at once; else None.

    huggingface_hub retries connection errors by itself (sleeping 1, 2, 4... s), so a hub
    that refuses connections would cost the whole deadline.  One TCP connect settles it.
    Not done through a proxy (the proxy answers for the hub) nor for other errors
    (timeouts, resets): those the request itself decides.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    host = parts.hostname
    if not host:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host):
        return None
    try:
        with socket.create_connection((host, port), timeout=max(0.05, timeout_s)):
            return None
    except ConnectionRefusedError:
        return f"connection to {host}:{port} refused"
    except socket.gaierror as e:
        return f"no such host {host}" if e.errno == socket.EAI_NONAME else None
    except OSError:
        return None


def quiet_hub_logs() -> None:
    """huggingface_hub logs each retry as a warning; pumas reports outcomes itself, once."""
    from huggingface_hub.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]


def _retry_after(response: Any) -> float | None:
    if response is None:
        return None
    value = (response.headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


class HubClient:
    def __init__(
        self,
        settings: HubSettings | None = None,
        *,
        budget: Budget | None = None,
        deadline: float | None = None,  # time.monotonic() value
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.settings = settings or HubSettings.from_env()
        self.budget = budget or Budget()
        self.deadline = deadline
        self.request_timeout_s = request_timeout_s
        self.max_retries = max_retries
        self.down: str | None = "offline mode (HF_HUB_OFFLINE is set)" if self.settings.offline else None
        self.requests = 0
        self._api: HfApi | None = None
        self._probed = False  # the endpoint is probed once per batch, before its first request

    # -- plumbing --------------------------------------------------------------

    @property
    def api(self) -> HfApi:
        if self._api is None:
            from huggingface_hub import HfApi

            quiet_hub_logs()
            self._api = HfApi(endpoint=self.settings.endpoint, token=self.settings.token, library_name="pumas")
        return self._api

    def remaining_s(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def usable(self) -> bool:
        """False once the hub is known down, the budget spent or the deadline passed."""
        left = self.remaining_s()
        return self.down is None and self.budget.left > 0 and (left is None or left > 0.05)

    def _timeout(self, limit: float | None = None) -> float:
        limit = self.request_timeout_s if limit is None else min(limit, self.request_timeout_s)
        left = self.remaining_s()
        if left is None:
            return limit
        if left <= 0.05:
            raise HubUnavailable("out of time for this batch")
        return min(limit, left)

    def _sleep(self, seconds: float) -> bool:
        """Sleep if it fits before the deadline; False when it does not."""
        left = self.remaining_s()
        if left is not None and seconds >= left - 0.05:
            return False
        time.sleep(seconds)
        return True

    def call(self, what: str, fn: Callable[[Any], T], *, timeout_s: float | None = None) -> T:
        """Run fn(HfApi) under the batch's rules; `what` names it in messages."""
        attempt = 0
        while True:
            if self.down is not None:
                raise HubUnavailable(f"hub unavailable: {self.down}")
            timeout = self._timeout(timeout_s)
            self.budget.take()
            self.requests += 1
            try:
                if not self._probed:
                    self._probed = True
                    endpoint = self.settings.endpoint
                    why = _run_bounded(functools.partial(unreachable, endpoint, timeout), timeout)
                    if why is not None:
                        raise HubUnavailable(f"cannot reach {endpoint} ({why})")
                # Even importing huggingface_hub happens on the clock, in the bounded thread.
                return _run_bounded(lambda: fn(self.api), timeout)
            except HubUnavailable as e:
                self.down = str(e)
                raise
            except Exception as e:
                err = classify(e, what, self.settings.endpoint)
                if err is None:
                    raise
                if isinstance(err, HubUnavailable) and err.retryable:
                    attempt += 1
                    wait = err.retry_after if err.retry_after is not None else 0.5 * 2 ** (attempt - 1)
                    if attempt <= self.max_retries and self._sleep(min(wait, 60.0)):
                        continue
                if isinstance(err, HubUnavailable):
                    self.down = err.message.removeprefix("hub unavailable: ")
                raise err from None

    # -- the requests pumas makes ---------------------------------------------

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        def fn(api: Any) -> list[SearchHit]:
            hits = []
            for m in api.list_models(search=query, limit=limit, sort="downloads"):
                hits.append(
                    SearchHit(
                        repo_id=m.id, downloads=m.downloads or 0, likes=m.likes or 0, pipeline_tag=m.pipeline_tag
                    )
                )
            return hits

        return self.call(f"search {query!r}", fn, timeout_s=SEARCH_TIMEOUT_S)

    def snapshot(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        """The repo's files (with LFS sha256) and card data, in one request."""
        timeout = self.request_timeout_s

        def fn(api: Any) -> RepoSnapshot:
            info = api.model_info(repo_id, revision=revision, files_metadata=True, timeout=timeout)
            return snapshot_from_info(info, revision or "main")

        return self.call(repo_id, fn)

    def readme(self, repo_id: str, sha: str, cache_dir: str) -> str | None:
        from huggingface_hub import hf_hub_download

        def fn(api: Any) -> str | None:
            path = hf_hub_download(
                repo_id, "README.md", revision=sha, cache_dir=cache_dir, endpoint=self.settings.endpoint,
                token=self.settings.token, etag_timeout=self.request_timeout_s,
            )
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read(64 * 1024)

        return self.call(f"{repo_id}/README.md", fn)


def classify(e: BaseException, what: str, endpoint: str) -> HubUnavailable | HubRefused | None:
    """A huggingface_hub/httpx exception as "later" or "no"; None for anything else (a bug)."""
    from huggingface_hub import errors as hf_errors

    if isinstance(e, hf_errors.GatedRepoError):
        return HubRefused(f"{what}: the repo is gated; accept its terms on the hub and set HF_TOKEN", kind="gated")
    if isinstance(e, hf_errors.RevisionNotFoundError):
        return HubNotFound(f"{what}: no such revision on the hub", kind="revision_not_found")
    if isinstance(e, hf_errors.RemoteEntryNotFoundError):
        return HubNotFound(f"{what}: no such file on the hub", kind="entry_not_found")
    if isinstance(e, hf_errors.RepositoryNotFoundError):
        return HubNotFound(f"{what}: no such repo on the hub (or it is private: set HF_TOKEN)", kind="not_found")
    if isinstance(e, hf_errors.HfHubHTTPError):
        status = e.response.status_code if e.response is not None else 0
        if status in (401, 403):
            return HubRefused(f"{what}: access denied (HTTP {status}); check HF_TOKEN", kind="unauthorized")
        if status == 404:
            return HubNotFound(f"{what}: not found on the hub", kind="not_found")
        if status in (408, 429) or status >= 500:
            err = HubUnavailable(f"hub unavailable: HTTP {status} from {endpoint}")
            err.retryable = True
            err.retry_after = _retry_after(e.response) if status == 429 else None
            return err
        return HubRefused(f"{what}: HTTP {status} from the hub", kind="invalid")
    if isinstance(e, hf_errors.HFValidationError):
        return HubRefused(f"{what}: {str(e).splitlines()[0]}", kind="invalid")
    if isinstance(e, (ConnectionError, TimeoutError)) or _is_transport_error(e):
        # DNS failure, refused connection, reset, stalled transfer, offline mode inside the client
        return HubUnavailable(f"hub unavailable: cannot reach {endpoint} ({type(e).__name__})")
    if isinstance(e, hf_errors.LocalEntryNotFoundError):
        return HubUnavailable(f"hub unavailable: cannot reach {endpoint} ({type(e).__name__})")
    if isinstance(e, (ValueError, KeyError, TypeError)) and not isinstance(e, hf_errors.HFValidationError):
        # The answer did not have the hub's shape: a proxy's page, a broken mirror.
        return HubUnavailable(f"hub unavailable: unexpected answer from {endpoint} ({type(e).__name__})")
    return None


def _is_transport_error(e: BaseException) -> bool:
    try:
        import httpx2 as httpx
    except ImportError:  # older huggingface_hub used requests/httpx
        try:
            import httpx  # type: ignore[no-redef, import-not-found, unused-ignore]
        except ImportError:
            return False
    return isinstance(e, (httpx.TransportError, httpx.TimeoutException))


def _iso(dt: Any) -> str | None:
    if dt is None:
        return None
    try:
        return str(dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    except AttributeError:
        return str(dt)


_CARD_KEYS = ("license", "license_name", "base_model", "model_name", "language", "pipeline_tag", "library_name", "tags")


def snapshot_from_info(info: Any, revision: str) -> RepoSnapshot:
    card: dict[str, Any] = {}
    if info.card_data is not None:
        raw = info.card_data.to_dict() if hasattr(info.card_data, "to_dict") else dict(info.card_data)
        card = {k: raw[k] for k in _CARD_KEYS if raw.get(k) not in (None, "", [])}
    files = [
        HubFile(
            path=s.rfilename, size=s.size if s.size is not None else (s.lfs.size if s.lfs else None),
            blob_id=s.blob_id, sha256=s.lfs.sha256 if s.lfs else None,
        )
        for s in (info.siblings or [])
    ]
    return RepoSnapshot(
        repo_id=info.id, revision=revision, sha=info.sha, files=files, pipeline_tag=info.pipeline_tag,
        library_name=info.library_name, tags=list(info.tags or []), card=card,
        created_at=_iso(info.created_at), last_modified=_iso(info.last_modified),
        gated=info.gated, private=info.private, downloads=info.downloads,
    )
