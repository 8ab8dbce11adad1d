"""One file from the hub into its ``.part``, resuming, verified, then into the work tree.

Each file is fetched with huggingface_hub's ``http_get`` into a ``.part``
file that outlives the process: an interrupted download (Ctrl-C, a dropped
connection, a killed process) resumes from where it stopped with an HTTP
Range request the next time the same command runs.  huggingface_hub's own
``hf_hub_download`` is not used for the bytes because it deletes its partial
file when a download fails, so it can only resume within one call.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from pumasfs.hub.cache import HubFile, RepoSnapshot
from pumasfs.hub.client import classify, quiet_hub_logs
from pumasfs.hub.errors import HubUnavailable
from pumasfs.hub.settings import HubSettings
from pumasfs.hub.verify import Hasher, Mismatch, hash_prefix
from pumasfs.hub.work_folder import WorkDir

TRANSFER_ATTEMPTS = 3

Progress = Callable[[int], None]


class _HashingFile:
    """The file object http_get writes to: hashes on the way, rehashes if it rewinds."""

    def __init__(self, raw: BinaryIO, hasher: Hasher, progress: Progress | None) -> None:
        self.raw, self.hasher, self.progress = raw, hasher, progress

    def write(self, data: bytes) -> int:
        n = self.raw.write(data)
        self.hasher.update(data)
        return n

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, pos: int, whence: int = 0) -> int:
        return self.raw.seek(pos, whence)

    def truncate(self, size: int | None = None) -> int:
        # http_get truncates when a server ignored our Range and sent the whole file again.
        n = self.raw.truncate(size)
        self.raw.flush()
        self.hasher.reset()
        hash_prefix(Path(self.raw.name), self.hasher, self.raw.tell())
        return n

    def flush(self) -> None:
        self.raw.flush()


def _tqdm_for(progress: Progress | None) -> type:
    class _Bar:
        """Enough of tqdm for http_get: it only constructs, enters and updates."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> _Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def update(self, n: float | None = 1) -> None:
            if progress is not None and n:
                progress(int(n))

        def close(self) -> None:
            pass

    return _Bar


def transfer_file(
    settings: HubSettings, snap: RepoSnapshot, f: HubFile, work: WorkDir, progress: Progress | None
) -> tuple[int, int]:
    """Fetch one file into its .part (resuming), verify it, move it into the tree.

    Returns (bytes fetched now, bytes the .part already held).
    """
    from huggingface_hub import hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined, unused-ignore]

    assert snap.sha
    quiet_hub_logs()
    part = work.part(f)
    url = hf_hub_url(snap.repo_id, f.path, revision=snap.sha, endpoint=settings.endpoint)
    headers = build_hf_headers(token=settings.token, library_name="pumas")
    kwargs: dict[str, Any] = {"headers": headers, "expected_size": f.size, "displayed_filename": f.path}
    if "tqdm_class" in inspect.signature(http_get).parameters:
        kwargs["tqdm_class"] = _tqdm_for(progress)
    part.touch()
    resumed_from = part.stat().st_size
    if f.size is not None and resumed_from > f.size:
        part.write_bytes(b"")  # not a prefix of this file
        resumed_from = 0
    hasher = Hasher(f)
    hash_prefix(part, hasher, resumed_from)
    if progress and resumed_from:
        progress(resumed_from)
    fetched = 0
    attempt = 0
    while True:
        have = part.stat().st_size
        with open(part, "r+b") as raw:
            raw.seek(have)
            try:
                http_get(url, _HashingFile(raw, hasher, progress), resume_size=have, **kwargs)  # type: ignore[arg-type]
                raw.flush()
                os.fsync(raw.fileno())
                fetched += raw.tell() - have
                break
            except Exception as e:
                raw.flush()
                fetched += max(0, raw.tell() - have)
                if isinstance(e, OSError) and "Consistency check failed" in str(e):
                    # The server said "done" at the wrong length: these bytes are not the file.
                    part.unlink(missing_ok=True)
                    raise Mismatch(f"{f.path}: the hub sent {raw.tell()} bytes, expected {f.size}") from None
                err = classify(e, f.path, settings.endpoint)
                if err is None:
                    raise
                attempt += 1
                if not (isinstance(err, HubUnavailable) and attempt < TRANSFER_ATTEMPTS):
                    raise err from None
                time.sleep(min(err.retry_after if err.retry_after is not None else float(attempt), 30.0))
        # Resume from whatever reached the disk; hash it again rather than trust the counters.
        hasher.reset()
        hash_prefix(part, hasher, part.stat().st_size)
    ok, got = hasher.matches()
    if not ok:
        part.unlink(missing_ok=True)
        what = "sha256" if f.sha256 else "git blob id"
        raise Mismatch(
            f"{f.path}: downloaded bytes do not match the hub's {what} (expected {f.sha256 or f.blob_id}, got {got})"
        )
    final = work.final(f)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, final)
    return fetched, resumed_from
