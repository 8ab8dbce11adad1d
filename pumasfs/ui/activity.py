"""Activity: the long operations the UI started, their live progress, cancel.

A job runs a use case in a worker thread with a :class:`JobReporter`; every
progress call updates the job and is broadcast (throttled) to the browsers
listening on the server-sent-events stream.  The jobs live in the server
process, so reloading the page shows the same queue; the download queue
runs one download at a time in the order it was asked for.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pumasfs.base.errors import PumasError, os_error_text
from pumasfs.base.progress import Cancelled

PUBLISH_EVERY_S = 0.1  # at most ten progress events a second per job
KEEP_FINISHED = 200


@dataclass
class Job:
    id: str
    kind: str  # import | upload | download | remove
    title: str
    cancellable: bool = False
    detail: str = ""  # where it comes from (a path, a repo): shown under the title
    state: str = "queued"  # queued | running | done | failed | cancelled
    phase: str = ""
    item: str = ""
    done: int = 0
    total: int | None = None
    unit: str = "bytes"
    messages: list[str] = field(default_factory=list)
    error: str | None = None
    result: Any = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, int(self.done * 100 / self.total))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "title": self.title, "detail": self.detail, "state": self.state,
            "phase": self.phase,
            "item": self.item, "done": self.done, "total": self.total, "unit": self.unit,
            "percent": self.percent, "messages": self.messages[-20:], "error": self.error,
            "cancellable": self.cancellable and self.active, "result": self.result,
        }


class JobReporter:
    """A use case's :class:`~pumasfs.base.progress.Reporter`, feeding one job."""

    def __init__(self, activity: Activity, job: Job) -> None:
        self.activity, self.job = activity, job
        self._last = 0.0

    def _check_cancel(self) -> None:
        if self.job.cancel_event.is_set():
            raise Cancelled()

    def _publish(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= PUBLISH_EVERY_S:
            self._last = now
            self.activity.publish(self.job)

    def start(self, label: str, total: int | None = None, *, unit: str = "bytes") -> None:
        self._check_cancel()
        self.job.phase, self.job.total, self.job.done, self.job.unit = label, total, 0, unit
        self._publish(force=True)

    def advance(self, n: int = 1) -> None:
        self._check_cancel()
        self.job.done += n
        self._publish()

    def item(self, name: str) -> None:
        self._check_cancel()
        self.job.item = name
        self._publish()

    def warn(self, message: str) -> None:
        self.job.messages.append(message)
        self._publish(force=True)


class Activity:
    """Every job of this server run, and the browsers listening to them."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = set()
        self._work = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pumas-job")
        self._downloads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pumas-download")

    def close(self) -> None:
        for job in self.jobs.values():
            job.cancel_event.set()
        self._work.shutdown(wait=True, cancel_futures=True)
        self._downloads.shutdown(wait=True, cancel_futures=True)

    # -- jobs --

    def submit(
        self, kind: str, title: str, fn: Callable[[JobReporter], Any], *, cancellable: bool = False,
        on_finish: Callable[[Job], None] | None = None, detail: str = "",
    ) -> Job:
        """Queue ``fn(reporter)``; its return value (JSON-able) becomes the job's result."""
        with self._lock:
            job = Job(id=f"j{next(self._ids)}", kind=kind, title=title, cancellable=cancellable, detail=detail)
            self.jobs[job.id] = job
            self._prune()
        pool = self._downloads if kind == "download" else self._work
        self.publish(job)  # "queued" first, before a worker can pick it up
        pool.submit(self._run, job, fn, on_finish)
        return job

    def _run(self, job: Job, fn: Callable[[JobReporter], Any], on_finish: Callable[[Job], None] | None) -> None:
        if job.cancel_event.is_set():
            job.state = "cancelled"
        else:
            job.state = "running"
            self.publish(job)
            try:
                job.result = fn(JobReporter(self, job))
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except PumasError as e:
                # A transfer cut short because the user cancelled it is a cancel, not a failure.
                job.state, job.error = ("cancelled", None) if job.cancel_event.is_set() else ("failed", e.message)
            except OSError as e:
                job.state, job.error = "failed", os_error_text(e) + (f": {e.filename}" if e.filename else "")
            except Exception as e:  # noqa: BLE001  (a bug: show it plainly rather than hang the job)
                job.state, job.error = "failed", f"internal error: {type(e).__name__}: {e}"
        job.finished = time.time()
        if on_finish is not None:
            try:
                on_finish(job)
            except Exception as e:  # noqa: BLE001  (cleanup must not hide the job's outcome)
                job.messages.append(f"cleanup failed: {e}")
        self.publish(job)

    def cancel(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        if job is not None and job.cancellable and job.active:
            job.cancel_event.set()
            if job.state == "queued":
                job.state = "cancelled"
            self.publish(job)
        return job

    def _prune(self) -> None:
        finished = [j for j in self.jobs.values() if not j.active]
        for j in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self.jobs[j.id]

    def listing(self) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)

    # -- events --

    def publish(self, job: Job) -> None:
        event = job.to_json()
        for loop, queue in list(self._listeners):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # that listener's loop is gone
                self._listeners.discard((loop, queue))

    async def events(self, *, heartbeat_s: float = 15.0) -> AsyncIterator[str]:
        """Server-sent events: every job once, then each change as it happens."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        entry = (loop, queue)
        self._listeners.add(entry)
        try:
            import json

            for job in self.listing()[::-1]:
                yield f"event: job\ndata: {json.dumps(job.to_json(), default=str)}\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: job\ndata: {json.dumps(event, default=str)}\n\n"
        finally:
            self._listeners.discard(entry)
