"""The pyfuse3 operations of a view: a read-only filesystem over a :class:`Tree`.

One OS thread runs every handler (trio tasks), so no handler may block for
long: metadata comes from memory, and a content read is a ``pread`` on a
descriptor opened once per ``open`` (large reads go to a worker thread so
that the kernel's parallel readahead requests overlap).  The descriptor is
what makes a removed or replaced library file safe: an app that opened it
keeps reading the bytes it opened, and a new file under the same name gets a
new inode (see tree.py), so cached pages are never another file's bytes.
"""

from __future__ import annotations

import contextvars
import errno
import json
import logging
import os
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pyfuse3
import trio

from pumasfs.view.backing import list_children, stat_child
from pumasfs.view.tree import ROOT_INODE, Node, Tree

log = logging.getLogger(__name__)

# Plan entries change only through the watcher, which invalidates the kernel's
# copy; a long timeout makes repeated stats as cheap as a native filesystem's.
PLAN_TIMEOUT = 3600.0
# Inside folder models we are not told about changes; keep the kernel's copy short.
MIRROR_TIMEOUT = 1.0
# Reads above this size go to a worker thread (the kernel sends up to 1 MiB per
# request and issues several readahead requests at once).
THREAD_READ_MIN = 256 * 1024
BLKSIZE = 1024 * 1024

XATTR_MODEL_ID = b"user.pumas.model_id"
XATTR_SOURCE = b"user.pumas.source"
XATTR_APP = b"user.pumas.app"
XATTR_STATS = b"user.pumas.stats"  # on the root: how many inodes the kernel holds (debugging)


# Each pyfuse3 worker task handles one request at a time and sends the reply
# before taking the next, so a buffer per task can be reused for every read:
# no 1 MiB allocation (and its page faults) per request.  A task spawned by
# another inherits a copy of its context, so the buffer is tagged with its
# owner and never shared.
_buffer: contextvars.ContextVar[tuple[object, memoryview]] = contextvars.ContextVar("pumas_read_buffer")


def _task_buffer(size: int) -> memoryview:
    task = trio.lowlevel.current_task()
    owner, buf = _buffer.get((None, None))
    if owner is not task or buf is None or len(buf) < size:
        buf = memoryview(bytearray(max(size, BLKSIZE)))
        _buffer.set((task, buf))
    return buf[:size]


def _erofs() -> pyfuse3.FUSEError:
    return pyfuse3.FUSEError(errno.EROFS)


@dataclass
class _Open:
    fd: int
    inode: int


# pyfuse3 as built by contrib/bootstrap.sh carries contrib/pyfuse3-cache.patch: the kernel may
# then cache symlink targets and directory listings.  A stock pyfuse3 works too, with a daemon
# round trip per readlink and per directory listing.
KERNEL_CACHES = hasattr(pyfuse3.Operations, "enable_cache_symlinks")
# The same patch's eager_receive: after answering a request the worker reads the next one
# at once instead of going through trio's event loop (epoll registration, a scheduler pass).
# The first `ls -l` of a preview folder is one readlink round trip per entry, so that trip is
# what it costs; a stock pyfuse3 ignores the attribute.
EAGER_RECEIVE = hasattr(pyfuse3.Operations, "eager_receive")


class ViewOperations(pyfuse3.Operations):
    supports_dot_lookup = True
    enable_writeback_cache = False
    # A link's target never changes under one inode (the target is part of its key in tree.py).
    enable_cache_symlinks = True
    eager_receive = True

    def __init__(self, tree: Tree, *, models_root: str, app: str, uid: int | None = None, gid: int | None = None) -> None:
        super().__init__()
        self.tree = tree
        self.models_root = models_root
        self.app = app
        self.uid = os.getuid() if uid is None else uid
        self.gid = os.getgid() if gid is None else gid
        self._files: dict[int, _Open] = {}
        self._dirs: dict[int, tuple[int, list[str]]] = {}
        self._next_fh = 1
        self._seen: dict[int, tuple[int, int, int, int]] = {}  # inode -> backing identity at last open
        # Requests served, by kind: the evidence for kernel caching (read through XATTR_STATS).
        self.requests: Counter[str] = Counter()

    # -- attributes ----------------------------------------------------------

    def attrs(self, node: Node) -> pyfuse3.EntryAttributes:
        a = pyfuse3.EntryAttributes()
        a.st_ino = node.inode
        a.generation = 0
        timeout = MIRROR_TIMEOUT if node.mirror else PLAN_TIMEOUT
        a.entry_timeout = timeout
        a.attr_timeout = timeout
        a.st_uid, a.st_gid = self.uid, self.gid
        a.st_blksize = BLKSIZE
        a.st_rdev = 0
        b = node.backing
        if node.kind == "dir":
            a.st_mode = stat.S_IFDIR | 0o555
            a.st_nlink = 2 + node.subdirs
            a.st_size = 0
        elif node.kind == "tree":
            a.st_mode = stat.S_IFDIR | 0o555
            a.st_nlink = b.nlink if b else 2
            a.st_size = 0
        elif node.kind == "link":
            a.st_mode = stat.S_IFLNK | 0o777
            a.st_nlink = 1
            a.st_size = len(os.fsencode(node.target or ""))
        else:
            a.st_mode = stat.S_IFREG | 0o444
            a.st_nlink = 1
            a.st_size = b.size if b else 0
        a.st_blocks = (a.st_size + 511) // 512
        mtime = node.mtime_ns
        a.st_atime_ns = a.st_mtime_ns = a.st_ctime_ns = mtime
        return a

    def _node(self, inode: int) -> Node:
        node = self.tree.get(inode)
        if node is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return node

    async def getattr(self, inode: int, ctx: pyfuse3.RequestContext | None = None) -> pyfuse3.EntryAttributes:
        self.requests["getattr"] += 1
        return self.attrs(self._node(inode))

    async def lookup(self, parent_inode: int, name: bytes, ctx: pyfuse3.RequestContext | None = None) -> pyfuse3.EntryAttributes:
        self.requests["lookup"] += 1
        parent = self._node(parent_inode)
        node: Node | None
        if name == b".":
            node = parent
        elif name == b"..":
            node = self._node(parent.parent if parent.inode != ROOT_INODE else ROOT_INODE)
        else:
            node = self._child(parent, os.fsdecode(name))
            if node is None:
                raise pyfuse3.FUSEError(errno.ENOENT)
        self.tree.remember(node)
        return self.attrs(node)

    def _child(self, parent: Node, name: str) -> Node | None:
        if parent.kind == "dir":
            return self.tree.child(parent.inode, name)
        if parent.kind == "tree" and parent.backing is not None:
            b = stat_child(parent.backing, name, self.models_root)
            return self.tree.mirror_child(parent, name, b) if b is not None else None
        return None

    async def forget(self, inode_list: Sequence[tuple[int, int]]) -> None:
        for inode, n in inode_list:
            self.tree.forget(inode, n)

    async def readlink(self, inode: int, ctx: pyfuse3.RequestContext | None = None) -> bytes:
        self.requests["readlink"] += 1
        node = self._node(inode)
        if node.kind != "link" or node.target is None:
            raise pyfuse3.FUSEError(errno.EINVAL)
        return os.fsencode(node.target)

    async def statfs(self, ctx: pyfuse3.RequestContext | None = None) -> pyfuse3.StatvfsData:
        self.requests["statfs"] += 1
        s = pyfuse3.StatvfsData()
        s.f_bsize = s.f_frsize = BLKSIZE
        s.f_blocks = s.f_bfree = s.f_bavail = 0
        s.f_files = len(self.tree.nodes)
        s.f_ffree = s.f_favail = 0
        s.f_namemax = 255
        return s

    # -- directories ---------------------------------------------------------

    def _new_fh(self) -> int:
        fh = self._next_fh
        self._next_fh += 1
        return fh

    async def opendir(  # type: ignore[override]  # the patched pyfuse3 also takes a FileInfo
        self, inode: int, ctx: pyfuse3.RequestContext | None = None
    ) -> int | pyfuse3.FileInfo:
        self.requests["opendir"] += 1
        node = self._node(inode)
        fh = self._new_fh()
        # A snapshot taken now: readdir's cursor is an index into it, so paging
        # stays exact while the watcher adds and removes entries.
        if node.kind == "dir":
            self._dirs[fh] = (inode, self.tree.listing(inode))
            if KERNEL_CACHES:
                # The kernel keeps the listing until the watcher invalidates the folder (live.py).
                return pyfuse3.FileInfo(fh=fh, keep_cache=True)
        elif node.kind == "tree" and node.backing is not None:
            # Inside a folder model nobody tells us about changes: list it afresh every time.
            self._dirs[fh] = (inode, list_children(node.backing, self.models_root))
        else:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        return fh

    async def readdir(self, fh: int, start_id: int, token: pyfuse3.ReaddirToken) -> None:
        self.requests["readdir"] += 1
        inode, snapshot = self._dirs[fh]
        parent = self.tree.get(inode)
        if parent is None:
            return
        # Cursor: 1 and 2 are "." and ".." (no lookup counted for them), then
        # snapshot[i] is entry i + 3.
        for i in range(start_id, len(snapshot) + 2):
            if i < 2:
                dot = parent if i == 0 else (self.tree.get(parent.parent) or parent)
                if not pyfuse3.readdir_reply(token, b"." if i == 0 else b"..", self.attrs(dot), i + 1):
                    return
                continue
            name = snapshot[i - 2]
            node = self._child(parent, name)
            if node is None:
                continue  # gone since opendir (and forgotten): skipping it is allowed
            if not pyfuse3.readdir_reply(token, os.fsencode(name), self.attrs(node), i + 1):
                self.tree.drop_if_unused(node)
                return
            self.tree.remember(node)

    async def releasedir(self, fh: int) -> None:
        self.requests["releasedir"] += 1
        self._dirs.pop(fh, None)

    # -- files ---------------------------------------------------------------

    async def open(self, inode: int, flags: int, ctx: pyfuse3.RequestContext | None = None) -> pyfuse3.FileInfo:
        self.requests["open"] += 1
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & (os.O_TRUNC | os.O_APPEND | os.O_CREAT):
            raise _erofs()
        node = self._node(inode)
        if node.kind != "file":
            raise pyfuse3.FUSEError(errno.EISDIR if node.kind in ("dir", "tree") else errno.EINVAL)
        b = node.backing
        if b is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        try:
            fd = os.open(b.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno or errno.EIO) from None
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (b.dev, b.ino) or not stat.S_ISREG(st.st_mode):
            # The library file was replaced since this inode was made: refuse rather
            # than serve another file's bytes under this inode; the watcher gives the
            # name its new inode.
            os.close(fd)
            raise pyfuse3.FUSEError(errno.ESTALE)
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        # Keep the kernel's cached pages only when the file is the one they came from.
        keep = self._seen.get(inode) in (None, identity)
        self._seen[inode] = identity
        fh = self._new_fh()
        self._files[fh] = _Open(fd, inode)
        return pyfuse3.FileInfo(fh=fh, direct_io=False, keep_cache=keep)

    async def read(self, fh: int, off: int, size: int) -> memoryview | bytes:  # type: ignore[override]  # pyfuse3 takes any buffer
        self.requests["read"] += 1
        fd = self._files[fh].fd
        buf = _task_buffer(size)
        try:
            if size < THREAD_READ_MIN:
                n = os.preadv(fd, [buf], off)
            else:
                n = await trio.to_thread.run_sync(os.preadv, fd, [buf], off)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno or errno.EIO) from None
        return buf[:n]

    async def release(self, fh: int) -> None:
        self.requests["release"] += 1
        f = self._files.pop(fh, None)
        if f is not None:
            os.close(f.fd)

    async def flush(self, fh: int) -> None:
        return None

    def close_all(self) -> None:
        for f in self._files.values():
            try:
                os.close(f.fd)
            except OSError:
                pass
        self._files.clear()

    # -- extended attributes -------------------------------------------------

    def _xattrs(self, node: Node) -> dict[bytes, bytes]:
        if node.kind == "link":
            return {}  # the kernel refuses user.* attributes on symlinks anyway
        if node.inode == ROOT_INODE:
            stats = {"entries": len(self.tree.by_path) - 1, "nodes": len(self.tree.nodes),
                     "referenced": self.tree.known(), "open_files": len(self._files),
                     "requests": dict(self.requests), "kernel_caches": KERNEL_CACHES,
                     "eager_receive": EAGER_RECEIVE}
            return {XATTR_APP: self.app.encode(), XATTR_STATS: json.dumps(stats).encode()}
        if node.model_id is None:
            return {}
        return {XATTR_MODEL_ID: node.model_id.encode(), XATTR_SOURCE: os.fsencode(node.target or "")}

    async def getxattr(self, inode: int, name: bytes, ctx: pyfuse3.RequestContext | None = None) -> bytes:
        self.requests["getxattr"] += 1
        if not name.startswith(b"user."):
            # No security labels, ACLs or capabilities here.  "Not supported" (not "no such
            # attribute") lets `ls -l` stop asking for this device: it otherwise sends one
            # security.selinux and one system.posix_acl_access request per entry, every time.
            raise pyfuse3.FUSEError(errno.EOPNOTSUPP)
        value = self._xattrs(self._node(inode)).get(name)
        if value is None:
            raise pyfuse3.FUSEError(pyfuse3.ENOATTR)
        return value

    async def listxattr(self, inode: int, ctx: pyfuse3.RequestContext | None = None) -> list[bytes]:
        self.requests["listxattr"] += 1
        return list(self._xattrs(self._node(inode)))

    # -- everything that writes: read-only -----------------------------------

    async def setxattr(self, inode: int, name: bytes, value: bytes, ctx: pyfuse3.RequestContext | None = None) -> None:
        raise _erofs()

    async def removexattr(self, inode: int, name: bytes, ctx: pyfuse3.RequestContext | None = None) -> None:
        raise _erofs()

    async def setattr(
        self, inode: int, attr: pyfuse3.EntryAttributes, fields: pyfuse3.SetattrFields, fh: int | None,
        ctx: pyfuse3.RequestContext | None = None,
    ) -> pyfuse3.EntryAttributes:
        raise _erofs()

    async def mknod(
        self, parent_inode: int, name: bytes, mode: int, rdev: int, ctx: pyfuse3.RequestContext | None = None
    ) -> pyfuse3.EntryAttributes:
        raise _erofs()

    async def mkdir(
        self, parent_inode: int, name: bytes, mode: int, ctx: pyfuse3.RequestContext | None = None
    ) -> pyfuse3.EntryAttributes:
        raise _erofs()

    async def unlink(self, parent_inode: int, name: bytes, ctx: pyfuse3.RequestContext | None = None) -> None:
        raise _erofs()

    async def rmdir(self, parent_inode: int, name: bytes, ctx: pyfuse3.RequestContext | None = None) -> None:
        raise _erofs()

    async def symlink(
        self, parent_inode: int, name: bytes, target: bytes, ctx: pyfuse3.RequestContext | None = None
    ) -> pyfuse3.EntryAttributes:
        raise _erofs()

    async def rename(
        self, parent_inode_old: int, name_old: bytes, parent_inode_new: int, name_new: bytes, flags: int,
        ctx: pyfuse3.RequestContext | None = None,
    ) -> None:
        raise _erofs()

    async def link(
        self, inode: int, new_parent_inode: int, new_name: bytes, ctx: pyfuse3.RequestContext | None = None
    ) -> pyfuse3.EntryAttributes:
        raise _erofs()

    async def write(self, fh: int, off: int, buf: bytes) -> int:
        raise _erofs()

    async def create(
        self, parent_inode: int, name: bytes, mode: int, flags: int, ctx: pyfuse3.RequestContext | None = None
    ) -> tuple[pyfuse3.FileInfo, pyfuse3.EntryAttributes]:
        raise _erofs()

    async def fsync(self, fh: int, datasync: bool) -> None:
        return None
