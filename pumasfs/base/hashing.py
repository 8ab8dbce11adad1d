"""One read of a file: copy it, SHA256 it and BLAKE3 it at the same time.

Models are large (2–30 GB) and reading them is the cost of an import, so every
byte is read once.  The calling thread reads 8 MiB chunks into a small pool of
reused buffers and hands each chunk to consumers that each run on their own
thread: the writer, the SHA256 hasher and the BLAKE3 hasher.  ``hashlib`` and
``blake3`` release the GIL on large buffers, and so do ``readinto`` and
``os.write``, so on two cores the four overlap; the slowest consumer (SHA256,
about 1.7 GiB/s) sets the pace and the others keep up.

A durable copy ends in ``fsync``.  Where the destination filesystem allows
it, the copy is written with ``O_DIRECT`` from page-aligned buffers: the data
goes from our buffer to the device without a second copy into the page cache,
which costs a fraction of the CPU (measured here: 0.2 CPU-s instead of
0.6-3 CPU-s per 2 GiB) and leaves the cores to the hashes; the final ``fsync``
then has only metadata left.  Where it does not (tmpfs, some FUSE and network
filesystems), writes are buffered, and every 32 MiB written a small thread
asks the kernel to start writing that range back
(``sync_file_range(SYNC_FILE_RANGE_WRITE)``) so flushing still overlaps with
reading and hashing.

Errors become :class:`PumasError` with one line naming the file, and the
partial destination is removed.  A source that changes while it is read
(truncated, grown, replaced) is an error too: its hashes would describe
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import hashlib
import mmap
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import blake3

from pumasfs.base.errors import PumasError, os_error_text

CHUNK = 8 * 1024 * 1024
BUFFERS = 6  # enough slack for the hashers to lag the reader by a few chunks
WRITEBACK_BATCH = 32 * 1024 * 1024  # start writing back every 32 MiB written
DIRECT_ALIGN = 4096  # O_DIRECT offsets and lengths: a multiple of every common logical block size

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Digest:
    size: int
    sha256: str
    blake3: str


@dataclass(frozen=True)
class SourceStamp:
    """What identifies a file's content without reading it: used to notice changes."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> SourceStamp:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# -- kernel helpers -----------------------------------------------------------

_SYNC_FILE_RANGE_WRITE = 2


def _load_sync_file_range() -> Callable[[int, int, int], None] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int

    def start_writeback(fd: int, offset: int, length: int) -> None:
        # Only a hint: failures (e.g. EINVAL/ESPIPE on odd filesystems) are ignored;
        # the fsync at the end is what makes the file durable.
        fn(fd, offset, length, _SYNC_FILE_RANGE_WRITE)

    return start_writeback


_start_writeback = _load_sync_file_range()


def _open_source(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        # Reading a user's file should not even change its access time; the
        # kernel allows O_NOATIME only to the owner, so fall back quietly.
        try:
            return os.open(path, flags | noatime)
        except PermissionError:
            pass
    return os.open(path, flags)


# -- the pipeline ---------------------------------------------------------------


class _Consumer(threading.Thread):
    """Applies one function to every chunk, in order, on its own thread."""

    def __init__(self, name: str, work: Callable[[memoryview], object], pipe: _Pipeline) -> None:
        super().__init__(name=f"pumas-{name}", daemon=True)
        self.work = work
        self.pipe = pipe
        self.inbox: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is None:
                return
            idx, n = item
            if not self.pipe.failed.is_set():
                try:
                    self.work(self.pipe.views[idx][:n])
                except BaseException as e:  # noqa: BLE001 -- handed to the reader thread, which re-raises it
                    self.error = e
                    self.pipe.failed.set()
            self.pipe.release(idx)


class _Pipeline:
    """The reader's side: a pool of buffers, each returned once every consumer is done with it."""

    def __init__(self, consumers: dict[str, Callable[[memoryview], object]], size_hint: int) -> None:
        # Small files (configs, previews) get small buffers: zeroing 48 MiB per JSON file adds up.
        chunk = min(CHUNK, max(64 * 1024, size_hint + 1))
        count = min(BUFFERS, size_hint // chunk + 2)
        # Anonymous maps are page-aligned, as O_DIRECT writes require.
        self.buffers = [mmap.mmap(-1, chunk) for _ in range(count)]
        self.views = [memoryview(b) for b in self.buffers]
        self.free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(count):
            self.free.put(i)
        self.pending = [0] * count
        self.lock = threading.Lock()
        self.failed = threading.Event()
        self.consumers = [_Consumer(name, fn, self) for name, fn in consumers.items()]
        for c in self.consumers:
            c.start()

    def release(self, idx: int) -> None:
        with self.lock:
            self.pending[idx] -= 1
            done = self.pending[idx] == 0
        if done:
            self.free.put(idx)

    def run(self, fd: int, expected: int, progress: Progress | None) -> int:
        total = 0
        try:
            while not self.failed.is_set():
                idx = self.free.get()
                n = os.readv(fd, [self.views[idx]])
                if n == 0:
                    self.free.put(idx)
                    break
                total += n
                self.pending[idx] = len(self.consumers)
                for c in self.consumers:
                    c.inbox.put((idx, n))
                if progress is not None:
                    progress(n)
                if total > expected:
                    break  # grew while being read; reported by the caller
        finally:
            for c in self.consumers:
                c.inbox.put(None)
            for c in self.consumers:
                c.join()
        for c in self.consumers:
            if c.error is not None:
                raise c.error
        return total


class _Writer:
    """Writes chunks in order; hands written ranges to a flusher thread to start their writeback.

    ``sync_file_range`` can block while the device queue is full; on its own
    thread that delays only the flushing, never the copy.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.offset = 0
        self.flushed = 0
        self.direct = _try_direct(fd)
        self._ranges: queue.SimpleQueue[tuple[int, int] | None] | None = None
        self._thread: threading.Thread | None = None
        if not self.direct and _start_writeback is not None:
            self._ranges = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._flush, name="pumas-writeback", daemon=True)
            self._thread.start()

    def __call__(self, view: memoryview) -> None:
        if self.direct and (len(view) % DIRECT_ALIGN or self.offset % DIRECT_ALIGN):
            # The tail of the file (or a short read): finish with buffered writes.
            fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~os.O_DIRECT)
            self.direct = False
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
            self.offset += written
        if self._ranges is not None and self.offset - self.flushed >= WRITEBACK_BATCH:
            self._ranges.put((self.flushed, self.offset - self.flushed))
            self.flushed = self.offset

    def _flush(self) -> None:
        assert self._ranges is not None and _start_writeback is not None
        while (item := self._ranges.get()) is not None:
            _start_writeback(self.fd, *item)

    def close(self) -> None:
        """Stop the flusher (before the final fsync, which waits for everything anyway)."""
        if self._ranges is not None and self._thread is not None:
            self._ranges.put(None)
            self._thread.join()
            self._ranges = None


def _try_direct(fd: int) -> bool:
    """Switch ``fd`` to O_DIRECT if its filesystem supports it (tmpfs does not)."""
    direct = getattr(os, "O_DIRECT", 0)
    if not direct:
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | direct)
    except OSError:
        return False
    return True


def _read_all(
    src: Path, consumers: dict[str, Callable[[memoryview], object]], progress: Progress | None,
    expect: SourceStamp | None = None,
) -> tuple[int, SourceStamp]:
    """Feed the whole of ``src`` to the consumers; check it did not change meanwhile."""
    try:
        fd = _open_source(src)
    except FileNotFoundError:
        raise PumasError(f"{src}: no such file (was it moved or deleted?)") from None
    except OSError as e:
        raise PumasError(f"{src}: cannot open: {os_error_text(e)}") from None
    try:
        before = SourceStamp.of(os.fstat(fd))
        if expect is not None and before != expect:
            raise PumasError(f"{src}: changed since it was examined; import it again")
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except OSError:
            pass
        pipe = _Pipeline(consumers, before.size)
        try:
            total = pipe.run(fd, before.size, progress)
        except PumasError:
            raise
        except OSError as e:
            where = "reading" if e.filename is None else e.filename
            raise _ReadOrWriteError(e, where) from None
        after = SourceStamp.of(os.fstat(fd))
    finally:
        os.close(fd)
    if total != before.size or after != before:
        raise PumasError(f"{src}: changed while it was being read (size {before.size} -> {total}); import it again")
    return total, before


class _ReadOrWriteError(Exception):
    def __init__(self, error: OSError, where: str) -> None:
        self.error = error
        self.where = where


def copy_and_hash(
    src: Path, dst: Path, *, progress: Progress | None = None, expect: SourceStamp | None = None
) -> tuple[Digest, SourceStamp]:
    """Copy ``src`` to the new file ``dst`` (which must not exist), durably, hashing on the way.

    Returns the digest and the source's stamp as it was read (to check later
    that it is still the same file before deleting it after a move).
    """
    src, dst = Path(src), Path(dst)
    try:
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as e:
        raise PumasError(f"{dst}: cannot create: {os_error_text(e)}") from None
    sha, b3 = hashlib.sha256(), blake3.blake3()
    ok = False
    try:
        writer = _Writer(out)
        try:
            try:
                size, stamp = _read_all(
                    src, {"write": writer, "sha256": sha.update, "blake3": b3.update}, progress, expect
                )
            finally:
                writer.close()
            os.fsync(out)
        except _ReadOrWriteError as e:
            # A failing writer is the common case (a full disk); name the file being imported.
            raise PumasError(f"{src}: import failed: {os_error_text(e.error)}") from None
        except OSError as e:
            raise PumasError(f"{src}: import failed: {os_error_text(e)}") from None
        ok = True
    finally:
        os.close(out)
        if not ok:
            try:
                os.unlink(dst)
            except OSError:
                pass
    return Digest(size, sha.hexdigest(), b3.hexdigest()), stamp


def hash_file(
    path: Path, *, progress: Progress | None = None, blake: bool = True
) -> tuple[Digest, SourceStamp]:
    """Both hashes of a file from one read (a same-filesystem move reads only for this)."""
    sha = hashlib.sha256()
    consumers: dict[str, Callable[[memoryview], object]] = {"sha256": sha.update}
    b3 = blake3.blake3() if blake else None
    if b3 is not None:
        consumers["blake3"] = b3.update
    try:
        size, stamp = _read_all(Path(path), consumers, progress)
    except _ReadOrWriteError as e:
        raise PumasError(f"{path}: cannot read: {os_error_text(e.error)}") from None
    return Digest(size, sha.hexdigest(), b3.hexdigest() if b3 is not None else ""), stamp


def verify_on_disk(path: Path, sha256: str) -> None:
    """Re-read a freshly written, fsynced file from the device and check its SHA256.

    The page cache would hand back what we wrote, not what reached the disk,
    so its clean pages are dropped first (a hint; where it does not work the
    check still catches in-memory corruption).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    except OSError:
        pass
    digest, _ = hash_file(path, blake=False)
    if digest.sha256 != sha256:
        raise PumasError(f"{path}: the copy does not match its source (sha256 differs); the source was kept")
