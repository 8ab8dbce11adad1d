"""The view's in-memory tree: a plan turned into inodes, kept up to date in place.

Pure bookkeeping, no FUSE and no I/O, so it is tested without a mount.

Inodes are stable while mounted: a node's number is derived from a key
(path, kind, library file and its device/inode), allocated once and never
given to anything else, so a name that comes back pointing at the same file
gets its old number and a name that now shows another file gets a new one
(the kernel can never mix their cached pages).  A node removed from the tree
stays known until the kernel forgets it (lookup counts balanced by
``forget``).  Changes report the (parent inode, name) pairs whose kernel
dentries must be invalidated; the caller sends those notifications, outside
any request handler.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from pumasfs.view.backing import Backing, Resolved

log = logging.getLogger(__name__)

ROOT_INODE = 1  # pyfuse3.ROOT_INODE, without importing pyfuse3 here

Kind = Literal["dir", "link", "file", "tree"]
# dir:  a folder of the plan
# link: a preview-mode entry, a symlink to the library file
# file: a content-mode entry (or a file inside a folder model), bytes from the library
# tree: a content-mode folder model (Diffusers), its contents mirrored from the library


# Slots, no per-node dict: a view of 100,000 models holds 100,000 of these for as long as it is mounted.
@dataclass(eq=False, slots=True)
class Node:
    inode: int
    kind: Kind
    name: str
    parent: int
    path: str
    model_id: str | None = None
    target: str | None = None  # absolute library path (what a preview symlink points to)
    backing: Backing | None = None
    children: dict[str, int] | None = None  # "dir" only
    subdirs: int = 0  # "dir" only: for st_nlink
    lookups: int = 0
    attached: bool = True
    mirror: bool = False  # lives inside a folder model; known only while the kernel holds it
    mtime_ns: int = 0


@dataclass
class Changes:
    invalidate: list[tuple[int, str]] = field(default_factory=list)  # (parent inode, name)
    dirs: set[int] = field(default_factory=set)  # directories whose listing/attributes changed
    added: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)  # plan paths that could not be placed

    def __bool__(self) -> bool:
        return bool(self.invalidate or self.dirs or self.added or self.removed)


class PartialClash(Exception):
    """A partial update collides with entries of models it does not cover: rebuild fully."""


class Tree:
    def __init__(self, *, content: bool, now_ns: int = 0) -> None:
        self.content = content
        self.now_ns = now_ns
        root = Node(ROOT_INODE, "dir", "", ROOT_INODE, "", children={}, mtime_ns=now_ns)
        self.nodes: dict[int, Node] = {ROOT_INODE: root}
        self.by_path: dict[str, int] = {"": ROOT_INODE}
        self.by_model: dict[str, tuple[str, ...]] = {}  # a model's entry paths (most models have one)
        # The numbers of keys no longer in the tree (a node knows its own key): a key that comes
        # back gets its old number, and no other key ever does.
        self._retired: dict[tuple[object, ...], int] = {}
        self._mirrors: dict[tuple[object, ...], int] = {}  # inside folder models: made on lookup
        self._next = ROOT_INODE + 1
        self._listings: dict[int, list[str]] = {}

    # -- reading -------------------------------------------------------------

    @property
    def root(self) -> Node:
        return self.nodes[ROOT_INODE]

    def get(self, inode: int) -> Node | None:
        return self.nodes.get(inode)

    def child(self, parent: int, name: str) -> Node | None:
        node = self.nodes.get(parent)
        if node is None or node.children is None:
            return None
        ino = node.children.get(name)
        return self.nodes.get(ino) if ino is not None else None

    def listing(self, inode: int) -> list[str]:
        """Names in a plan directory, sorted; cached until it changes (never changed in place)."""
        cached = self._listings.get(inode)
        if cached is None:
            node = self.nodes[inode]
            cached = sorted(node.children or ())
            self._listings[inode] = cached
        return cached

    def allocated(self) -> list[int]:
        """Every inode number given out and still remembered (tests check they are distinct)."""
        attached = [n.inode for n in self.nodes.values() if n.attached]
        return [*attached, *self._retired.values(), *self._mirrors.values()]

    def entries(self) -> dict[str, Node]:
        """Every entry of the plan (not folders), by path."""
        return {p: self.nodes[i] for p, i in self.by_path.items() if self.nodes[i].kind != "dir"}

    def paths(self) -> set[str]:
        return {p for p in self.by_path if p}

    # -- lookup counts -------------------------------------------------------

    def remember(self, node: Node, n: int = 1) -> None:
        node.lookups += n

    def forget(self, inode: int, n: int) -> None:
        node = self.nodes.get(inode)
        if node is None or inode == ROOT_INODE:
            return
        node.lookups -= n
        if node.lookups <= 0:
            node.lookups = 0
            if not node.attached:
                del self.nodes[inode]

    def drop_if_unused(self, node: Node) -> None:
        if node.lookups == 0 and not node.attached and node.inode != ROOT_INODE:
            self.nodes.pop(node.inode, None)

    def known(self) -> int:
        """Nodes the kernel may still refer to (tests check lookups balance)."""
        return sum(1 for n in self.nodes.values() if n.lookups)

    # -- folder models in content mode: children made on demand --------------

    def mirror_child(self, parent: Node, name: str, backing: Backing) -> Node:
        kind: Kind = "tree" if backing.is_dir else "file"
        path = f"{parent.path}/{name}"
        key = ("mirror", path, kind, backing.dev, backing.ino)
        ino = self._mirrors.get(key)
        if ino is None:
            ino = self._mirrors[key] = self._new_inode()
        node = self.nodes.get(ino)
        if node is None:
            node = Node(
                ino, kind, name, parent.inode, path, model_id=parent.model_id,
                target=backing.path, backing=backing, attached=False, mirror=True,
                mtime_ns=backing.mtime_ns,
            )
            self.nodes[ino] = node
        else:
            node.backing = backing
        return node

    # -- applying plans ------------------------------------------------------

    def apply(self, resolved: dict[str, Resolved], models: frozenset[str] | None = None, *, now_ns: int = 0) -> Changes:
        """Make the tree show ``resolved``.

        ``models=None``: ``resolved`` is a full plan and everything else goes.
        Otherwise it is a partial plan covering exactly ``models``: their old
        entries are replaced and every other entry is left alone; raises
        :class:`PartialClash` (before changing anything) when it would take a
        name held by another model.
        """
        self.now_ns = now_ns or self.now_ns
        changes = Changes()
        if models is not None:
            self._check_partial(resolved, models)
            stale_paths = {p for m in models for p in self.by_model.get(m, ())}
        else:
            stale_paths = {p for p, i in self.by_path.items() if self.nodes[i].kind != "dir"}
        for path in sorted(stale_paths):
            node = self.nodes[self.by_path[path]]
            want = resolved.get(path)
            if want is not None and self._key(path, want) == self._node_key(node):
                node.backing = want.backing  # same file; size/mtime may have been refreshed
                continue
            self._remove(node, changes)
        for path in sorted(resolved):
            if path in self.by_path:
                continue  # kept above
            self._add(path, resolved[path], changes)
        return changes

    def _check_partial(self, resolved: dict[str, Resolved], models: frozenset[str]) -> None:
        for path, r in resolved.items():
            if r.entry.model_id not in models:
                raise PartialClash(f"partial plan has an entry of {r.entry.model_id!r} it does not cover")
            ino = self.by_path.get(path)
            if ino is not None:
                node = self.nodes[ino]
                if node.kind == "dir" or node.model_id not in models:
                    raise PartialClash(f"{path!r} is held by another model")
            parts = path.split("/")
            for i in range(1, len(parts)):
                anc = self.by_path.get("/".join(parts[:i]))
                if anc is not None and self.nodes[anc].kind != "dir" and self.nodes[anc].model_id not in models:
                    raise PartialClash(f"{path!r} lies under another model's entry")

    def _kind(self, r: Resolved) -> Kind:
        if not self.content:
            return "link"
        return "tree" if r.entry.is_dir else "file"

    def _key(self, path: str, r: Resolved) -> tuple[object, ...]:
        b = r.backing
        return ("entry", path, self._kind(r), r.entry.model_id, r.target, b.dev if b else None, b.ino if b else None)

    @staticmethod
    def _node_key(node: Node) -> tuple[object, ...]:
        if node.kind == "dir":
            return ("dir", node.path)
        b = node.backing
        return ("entry", node.path, node.kind, node.model_id, node.target, b.dev if b else None, b.ino if b else None)

    def _new_inode(self) -> int:
        ino = self._next
        self._next += 1
        return ino

    def _inode_for(self, key: tuple[object, ...]) -> int:
        """The number of a key entering the tree: its old one if it was here before."""
        ino = self._retired.pop(key, None)
        return self._new_inode() if ino is None else ino

    def _touch(self, parent: Node, changes: Changes) -> None:
        parent.mtime_ns = self.now_ns
        self._listings.pop(parent.inode, None)
        changes.dirs.add(parent.inode)

    def _remove(self, node: Node, changes: Changes) -> None:
        parent = self.nodes[node.parent]
        assert parent.children is not None
        del parent.children[node.name]
        if node.kind == "dir":
            parent.subdirs -= 1
        del self.by_path[node.path]
        if node.model_id is not None and node.kind != "dir":
            paths = self.by_model.get(node.model_id)
            if paths is not None:
                rest = tuple(p for p in paths if p != node.path)
                if rest:
                    self.by_model[node.model_id] = rest
                else:
                    del self.by_model[node.model_id]
            changes.removed += 1
        node.attached = False
        self._retired[self._node_key(node)] = node.inode
        self.drop_if_unused(node)
        changes.invalidate.append((parent.inode, node.name))
        self._touch(parent, changes)
        if parent.inode != ROOT_INODE and not parent.children:
            self._remove(parent, changes)  # folders exist only above entries

    def _dir(self, path: str, changes: Changes) -> Node | None:
        """The plan folder at ``path``, made (with its parents) if missing; None if a file is there."""
        ino = self.by_path.get(path)
        if ino is not None:
            node = self.nodes[ino]
            return node if node.kind == "dir" else None
        head, _, name = path.rpartition("/")
        parent = self._dir(head, changes)
        if parent is None:
            return None
        ino = self._inode_for(("dir", path))
        found = self.nodes.get(ino)
        if found is None:
            node = Node(ino, "dir", name, parent.inode, path, children={}, mtime_ns=self.now_ns)
            self.nodes[ino] = node
        else:
            node = found
        node.attached, node.parent, node.name, node.children, node.subdirs = True, parent.inode, name, {}, 0
        node.mtime_ns = self.now_ns
        self._listings.pop(ino, None)
        self._link(parent, node, changes)
        return node

    def _link(self, parent: Node, node: Node, changes: Changes) -> None:
        assert parent.children is not None
        parent.children[node.name] = node.inode
        if node.kind == "dir":
            parent.subdirs += 1
        self.by_path[node.path] = node.inode
        # A name that was looked up while absent may sit in the kernel as a negative entry.
        changes.invalidate.append((parent.inode, node.name))
        self._touch(parent, changes)

    def _add(self, path: str, r: Resolved, changes: Changes) -> None:
        head, _, name = path.rpartition("/")
        parent = self._dir(head, changes)
        if parent is None or name in (parent.children or {}):
            log.warning("plan entry %r clashes with another entry's folder; not shown", path)
            changes.skipped.append(path)
            return
        kind = self._kind(r)
        # Nothing retired (the first plan of a mount): no key can come back, none to build.
        ino = self._inode_for(self._key(path, r)) if self._retired else self._new_inode()
        node = self.nodes.get(ino)
        mtime = r.backing.mtime_ns if r.backing else self.now_ns
        if node is None:
            node = Node(ino, kind, name, parent.inode, path)
            self.nodes[ino] = node
        node.attached, node.parent, node.name = True, parent.inode, name
        node.model_id, node.target = r.entry.model_id, r.target
        node.backing, node.mtime_ns = r.backing, mtime
        self._link(parent, node, changes)
        self.by_model[r.entry.model_id] = (*self.by_model.get(r.entry.model_id, ()), path)
        changes.added += 1
