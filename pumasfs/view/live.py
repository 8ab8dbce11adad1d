"""Keeping a mounted view live: poll the plan source, update the tree, tell the kernel.

The poll (a cheap ``MAX(seq)`` query most of the time) and the planning run
in a worker thread; the tree is changed only here, on the trio thread, so
request handlers never see it half-updated.  Kernel caches are invalidated
with pyfuse3's asynchronous notifications (a separate thread), never from a
request handler: a notification can wait for a lock a pending request holds.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pyfuse3
import trio

from pumasfs.view.backing import resolve_plan
from pumasfs.view.source import PlanSource
from pumasfs.view.tree import Changes, PartialClash, Tree

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.3


def notify(changes: Changes) -> None:
    for parent, name in changes.invalidate:
        pyfuse3.invalidate_entry_async(parent, os.fsencode(name), ignore_enoent=True)


def _invalidate_dirs(inodes: list[int]) -> None:
    """Drop the kernel's attributes and cached listing (its "pages") of changed folders."""
    for ino in inodes:
        try:
            pyfuse3.invalidate_inode(ino, attr_only=False)
        except OSError:
            pass  # the kernel does not hold it: nothing to invalidate


async def refresh(source: PlanSource, tree: Tree, models_root: str) -> Changes | None:
    """One step: ask the source, apply what it says. Returns the changes applied, if any."""
    plan = await trio.to_thread.run_sync(source.poll)
    if plan is None:
        return None
    resolved = await trio.to_thread.run_sync(resolve_plan, plan, models_root)
    try:
        changes = tree.apply(resolved, None if plan.full else plan.models, now_ns=time.time_ns())
    except PartialClash as e:
        log.info("partial update conflicts (%s); rebuilding the whole view", e)
        plan = await trio.to_thread.run_sync(source.full)
        resolved = await trio.to_thread.run_sync(resolve_plan, plan, models_root)
        changes = tree.apply(resolved, None, now_ns=time.time_ns())
    if changes:
        log.info("view updated: %d added, %d removed", changes.added, changes.removed)
        notify(changes)
        await trio.to_thread.run_sync(_invalidate_dirs, sorted(changes.dirs))
    return changes


async def watch(source: PlanSource, tree: Tree, models_root: str, *, interval: float = POLL_INTERVAL) -> None:
    while True:
        await trio.sleep(interval)
        try:
            await refresh(source, tree, models_root)
        except Exception:
            # A broken map or a locked index must not take the mounted view down;
            # it keeps showing the last good plan and tries again.
            log.exception("view update failed; keeping the current tree")
            await trio.sleep(interval * 5)


def models_root_of(models_dir: Path) -> str:
    return os.path.realpath(models_dir)
