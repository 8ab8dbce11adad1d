"""Removing models: links in every app first, then the model into the trash.

The order is what makes it safe and resumable.  Before anything changes, the
library writes an intent (see :mod:`pumasfs.store.journal`); then this model's
links leave every app; then its folder moves into the trash (one rename) and
its row leaves the index.  A process killed at any step leaves the intent,
and the next command that opens the library finishes the removal; the index
change it logs makes the next sync drop any link still there.  One model that
cannot be removed is reported and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pumasfs.base.errors import EXIT_PARTIAL, PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.usecases.trash import auto_empty
from pumasfs.usecases.workspace import Workspace


@dataclass
class Removal:
    """One model removed (or, for a dry run, that would be)."""

    model_id: str
    links: int  # links removed from apps (a dry run: links that would be)
    trash_id: str | None = None  # where it went; None for a dry run


@dataclass
class RemoveFailure:
    ref: str
    message: str
    exit_code: int


@dataclass
class RemoveResult:
    removed: list[Removal] = field(default_factory=list)
    failed: list[RemoveFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)  # trash items deleted for age on the way
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        if not self.failed:
            return 0
        if self.removed:
            return EXIT_PARTIAL
        return self.failed[0].exit_code


def remove_models(
    ws: Workspace, refs: list[str], *, dry_run: bool = False, reporter: Reporter = NULL_REPORTER
) -> RemoveResult:
    """Move the models named by ``refs`` (ids or unique names) to the trash, their links out of every app."""
    from pumasfs.usecases.after_change import catch_up_apps, unlink_everywhere
    from pumasfs.usecases.library import links_of_model

    lib = ws.library
    result = RemoveResult(dry_run=dry_run)
    seen: set[str] = set()
    reporter.start("removing", len(refs), unit="models")
    for ref in refs:
        try:
            model_id = lib.resolve_id(ref)
            if model_id in seen:
                continue
            seen.add(model_id)
            reporter.item(model_id)
            if dry_run:
                lib.get(model_id)  # exists on disk, not only in the index
                result.removed.append(Removal(model_id, len(links_of_model(ws, model_id))))
                continue
            links = [0]

            def unlink(mid: str = model_id, count: list[int] = links) -> None:
                count[0] = unlink_everywhere(ws, mid)

            item = lib.to_trash(model_id, before=unlink)
            result.removed.append(Removal(model_id, links[0], item.id))
        except PumasError as e:
            result.failed.append(RemoveFailure(ref, e.message, e.exit_code))
        except OSError as e:
            from pumasfs.base.errors import os_error_text

            result.failed.append(RemoveFailure(ref, os_error_text(e) + (f": {e.filename}" if e.filename else ""), 1))
        reporter.advance(1)
    if dry_run or not result.removed:
        return result
    catch_up_apps(ws, reporter)  # drops what is left of the removed models' links; warns, never raises
    try:
        result.emptied = [i.id for i in auto_empty(ws)]
    except (PumasError, OSError) as e:
        result.warnings.append(f"could not empty old trash items: {getattr(e, 'message', e)}")
    return result
