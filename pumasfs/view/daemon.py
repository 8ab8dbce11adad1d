"""Running a view: mount, serve until unmounted or signalled, and the daemon's life cycle.

``serve`` is the whole daemon in one call (foreground, tests, systemd).
``mount`` runs it in the background: it forks a detached daemon and returns
once that daemon says the mount serves (or why it could not), through a
pipe.  The daemon records itself in the run dir so ``pumas mounts`` can list
it and ``pumas umount`` can wait for it; SIGINT and SIGTERM end it with a
clean unmount.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from pumasfs.base.errors import Conflict, NotFound, PumasError
from pumasfs.base.memory import release_free_memory
from pumasfs.base.paths import Layout
from pumasfs.view import mounts
from pumasfs.view.backing import resolve_plan
from pumasfs.view.live import models_root_of
from pumasfs.view.source import PlanSource
from pumasfs.view.tree import Tree

log = logging.getLogger(__name__)

READAHEAD_KB = 4096  # the default 128 KiB starves sequential reads through FUSE
READY_TIMEOUT = 120.0  # the first plan of a huge library takes a while


def mount_options(*, allow_other: bool) -> set[str]:
    opts = {f"fsname={mounts.FSNAME}", "subtype=pumasfs", "ro", "default_permissions", "noatime"}
    if allow_other:
        opts.add("allow_other")
    return opts


def raise_readahead(mountpoint: str, kb: int = READAHEAD_KB) -> bool:
    """Raise the FUSE connection's readahead (root only; a failure is not an error).

    The device comes from mountinfo, not from stat(): stat would be a request
    to this very daemon.
    """
    m = mounts.view_mounts().get(mountpoint)
    if m is None:
        return False
    try:
        Path(f"/sys/class/bdi/{m.device}/read_ahead_kb").write_text(str(kb))
    except OSError as e:
        log.info("cannot raise readahead of %s: %s", mountpoint, e)
        return False
    return True


def build_tree(source: PlanSource, *, content: bool) -> Tree:
    models_root = models_root_of(source.models_dir)
    tree = Tree(content=content, now_ns=time.time_ns())
    tree.apply(resolve_plan(source.full(), models_root), None)
    # Give back the memory of the first plan (index records, plan, resolved entries): the
    # daemon keeps only the tree (at 100,000 models, 711 MiB resident before this, 447 after).
    release_free_memory()
    return tree


def serve(
    source: PlanSource,
    mountpoint: str | os.PathLike[str],
    *,
    content: bool = False,
    allow_other: bool = False,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Mount the view and serve it until unmounted, SIGINT or SIGTERM."""
    import pyfuse3
    import trio

    from pumasfs.view.fs import ViewOperations
    from pumasfs.view.live import watch

    mp = os.path.abspath(mountpoint)
    models_root = models_root_of(source.models_dir)
    try:
        tree = build_tree(source, content=content)
        ops = ViewOperations(tree, models_root=models_root, app=source.app)
        try:
            pyfuse3.init(ops, mp, mount_options(allow_other=allow_other))
        except RuntimeError as e:
            hint = " (allow_other needs user_allow_other in /etc/fuse.conf)" if allow_other and os.getuid() else ""
            raise PumasError(f"cannot mount a view at {mp}: {e}{hint}") from None
    except BaseException:
        source.close()
        raise

    async def main() -> None:
        async with trio.open_nursery() as nursery:

            async def fuse_loop() -> None:
                await pyfuse3.main()
                nursery.cancel_scope.cancel()  # unmounted from outside (fusermount3 -u)

            async def on_signals() -> None:
                with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
                    async for signum in signals:
                        if signum == signal.SIGHUP:
                            continue  # the terminal went away; keep serving
                        log.info("signal %d: unmounting %s", signum, mp)
                        pyfuse3.terminate()
                        return

            nursery.start_soon(fuse_loop)
            nursery.start_soon(on_signals)
            nursery.start_soon(watch, source, tree, models_root)
            # Ready means served: a stat through the mount (from a worker thread,
            # so this thread answers it) returns only once the kernel's INIT
            # exchange is over, which also resets the readahead we raise now.
            await trio.to_thread.run_sync(os.stat, mp)
            if content:
                raise_readahead(mp)
            if on_ready is not None:
                on_ready()

    try:
        trio.run(main)
    finally:
        ops.close_all()
        try:
            pyfuse3.close(unmount=True)
        except Exception:  # already unmounted from outside
            log.debug("close after unmount", exc_info=True)
        source.close()


# -- background daemon -------------------------------------------------------


def _daemon_child(
    write_fd: int, layout: Layout, source: PlanSource, mp: str, *, content: bool, allow_other: bool, log_path: Path
) -> None:
    """In the forked daemon: never returns."""
    code = 0
    try:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)  # the session leader exits: the daemon can never regain a terminal
        os.chdir("/")
        devnull = os.open(os.devnull, os.O_RDWR)
        logfd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(devnull, 0)
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
        os.close(devnull)
        os.close(logfd)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)
        log.info("view of %s at %s (%s)", source.app, mp, "content" if content else "preview")
        rec = mounts.MountRecord(
            pid=os.getpid(), mountpoint=mp, app=source.app, mode="content" if content else "preview",
            root=str(layout.root), log=str(log_path), allow_other=allow_other,
        )

        def ready() -> None:
            mounts.write_record(layout, rec)
            os.write(write_fd, b"ok\n")
            os.close(write_fd)

        try:
            serve(source, mp, content=content, allow_other=allow_other, on_ready=ready)
        finally:
            mounts.remove_record(layout, mp, os.getpid())
        log.info("unmounted %s", mp)
    except PumasError as e:
        _tell(write_fd, f"error {e.message}")
        code = e.exit_code
    except BaseException as e:  # noqa: BLE001 -- the parent turns this into one line; the log has the rest
        traceback.print_exc()
        _tell(write_fd, f"error view daemon failed: {type(e).__name__}: {e} (see {log_path})")
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _tell(fd: int, text: str) -> None:
    try:
        os.write(fd, text.encode("utf-8", "replace") + b"\n")
    except OSError:
        pass  # the parent is gone or already told


def _await_ready(read_fd: int, timeout: float) -> str:
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "error the view daemon did not report ready in time"
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(read_fd, 4096)
        if not chunk:
            return buf.decode("utf-8", "replace").strip() or "error the view daemon exited before mounting"
        buf += chunk
        if buf.endswith(b"\n"):
            return buf.decode("utf-8", "replace").strip()


def prepare_mountpoint(layout: Layout, mountpoint: str | os.PathLike[str]) -> str:
    """An absolute, existing, free mountpoint; a stale view there is cleaned first."""
    mp = os.path.abspath(os.path.expanduser(mountpoint))
    models = os.path.realpath(layout.models_dir)
    if mounts.view_mounts().get(mp) is not None:
        rec = mounts.read_record(mounts.record_path(layout, mp))
        state = mounts.state_of(mp, rec, mounts.view_mounts())
        if state == "active":
            who = f" (pid {rec.pid}, app {rec.app})" if rec else ""
            raise Conflict(f"{mp} is already a pumas view{who}; `pumas umount {mp}` first")
        log.info("cleaning stale view at %s", mp)
        mounts.fuse_unmount(mp, lazy=True)
        mounts.remove_record(layout, mp)
    real = os.path.realpath(mp)
    if real == models or real.startswith(models + "/"):
        raise PumasError(f"{mp} is inside the library; mount the view somewhere else")
    try:
        os.makedirs(mp, exist_ok=True)
    except OSError as e:
        raise PumasError(f"cannot create mountpoint {mp}: {e.strerror}") from None
    if not os.path.isdir(mp):
        raise PumasError(f"{mp} is not a folder")
    return mp


def mount(
    layout: Layout,
    source: PlanSource,
    mountpoint: str | os.PathLike[str],
    *,
    content: bool = False,
    foreground: bool = False,
    allow_other: bool = False,
    on_ready: Callable[[], None] | None = None,
) -> mounts.MountRecord | None:
    """Mount a view; in the background unless ``foreground`` (then returns when it ends)."""
    mp = prepare_mountpoint(layout, mountpoint)
    if foreground:
        rec = mounts.MountRecord(
            pid=os.getpid(), mountpoint=mp, app=source.app, mode="content" if content else "preview",
            root=str(layout.root), allow_other=allow_other,
        )

        def ready() -> None:
            mounts.write_record(layout, rec)
            if on_ready is not None:
                on_ready()

        try:
            serve(source, mp, content=content, allow_other=allow_other, on_ready=ready)
        finally:
            mounts.remove_record(layout, mp, os.getpid())
        return None
    log_path = mounts.record_path(layout, mp).with_suffix(".log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _daemon_child(w, layout, source, mp, content=content, allow_other=allow_other, log_path=log_path)
    os.close(w)
    try:
        os.waitpid(pid, 0)  # the first child exits as soon as the daemon is forked
        answer = _await_ready(r, READY_TIMEOUT)
    finally:
        os.close(r)
    if not answer.startswith("ok"):
        raise PumasError(answer.removeprefix("error ").strip())
    return mounts.read_record(mounts.record_path(layout, mp))


# -- unmounting and listing --------------------------------------------------


def umount(layout: Layout, mountpoint: str | os.PathLike[str], *, lazy: bool = False, wait: float = 10.0) -> str:
    """Unmount a view (a stale one lazily) and wait for its daemon; returns what was done."""
    mp = os.path.abspath(os.path.expanduser(mountpoint))
    mounted = mounts.view_mounts()
    rec = mounts.read_record(mounts.record_path(layout, mp))
    if mp not in mounted:
        if rec is not None:
            mounts.remove_record(layout, mp)
            return f"{mp} was not mounted; removed its stale record"
        raise NotFound(f"{mp} is not a pumas view (see `pumas mounts`)")
    state = mounts.state_of(mp, rec, mounted)
    mounts.fuse_unmount(mp, lazy=lazy or state == "stale")
    if rec is not None and state == "active":
        deadline = time.monotonic() + wait
        while mounts.pid_alive(rec.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    mounts.remove_record(layout, mp)
    return f"cleaned stale view at {mp}" if state == "stale" else f"unmounted {mp}"


def list_views(layout: Layout) -> list[dict[str, object]]:
    """Views of this library (from records) and any other pumasfs mount, with their state."""
    mounted = mounts.view_mounts()
    out: list[dict[str, object]] = []
    seen: set[str] = set()
    for rec in mounts.all_records(layout):
        state = mounts.state_of(rec.mountpoint, rec, mounted)
        if state == "unmounted" and not mounts.pid_alive(rec.pid):
            mounts.remove_record(layout, rec.mountpoint, rec.pid)  # a crashed daemon's leftover
            continue
        seen.add(rec.mountpoint)
        out.append({
            "mountpoint": rec.mountpoint, "app": rec.app, "mode": rec.mode, "pid": rec.pid,
            "state": state, "started": rec.started, "root": rec.root, "log": rec.log,
        })
    for mp in sorted(set(mounted) - seen):
        out.append({
            "mountpoint": mp, "app": None, "mode": None, "pid": None,
            "state": "stale" if mounts.is_stale(mp) else "active", "started": None,
            "root": None, "log": None,
        })
    return out
