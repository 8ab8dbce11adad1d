"""Importing model files: copy into the library, look them up on the hub, catch the apps up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pumasfs.base.errors import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_PARTIAL, PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.usecases.after_change import CatchUp, catch_up_apps, lookup_after_import
from pumasfs.usecases.workspace import Workspace

if TYPE_CHECKING:
    from pumasfs.hub.enrich import EnrichSummary
    from pumasfs.importing.importer import ImportOptions, ImportResult


class _ImportProgress:
    """The importer's progress sink, forwarded to a Reporter (one bytes phase)."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter

    def advance(self, n: int = 1) -> None:
        self._reporter.advance(n)

    def update(self, **kw: Any) -> None:
        if "total" in kw:
            self._reporter.start("importing", kw["total"], unit="bytes")
        if "description" in kw:
            self._reporter.item(str(kw["description"]))


@dataclass
class ImportReport:
    """What `pumas import` did: each source's result, the hub lookup and the apps' catch-up."""

    results: list[ImportResult]
    dry_run: bool = False
    lookup: EnrichSummary | None = None  # None: nothing imported, or --no-lookup
    apps: CatchUp | None = None  # None: nothing imported

    @property
    def imported(self) -> list[str]:
        return [r.model_id for r in self.results if r.status == "imported" and r.model_id]

    @property
    def failed(self) -> list[ImportResult]:
        """Sources that failed, or that a dry run shows would be refused."""
        return [r for r in self.results if r.status == "failed" or r.refused]

    def error(self) -> PumasError | None:
        """The error the whole run ends with: all failed (1; 4 when no source exists), some failed (5), or None."""
        failed = self.failed
        if not failed:
            return None
        if len(failed) == len(self.results):
            first = failed[0]
            code = EXIT_NOT_FOUND if all(r.missing for r in failed) else EXIT_ERROR
            message = f"{first.source}: {first.message}" if len(failed) == 1 else f"all {len(failed)} imports failed"
            if self.dry_run:
                message = ("would refuse " + message) if len(failed) == 1 else f"all {len(failed)} would be refused"
            return PumasError(message, exit_code=code)
        verb = "would be refused" if self.dry_run else "failed"
        return PumasError(f"{len(failed)} of {len(self.results)} imports {verb}", exit_code=EXIT_PARTIAL)


def import_models(ws: Workspace, paths: list[Path], options: ImportOptions, *, lookup: bool = True,
                  lookup_deadline_s: float = 3.0, reporter: Reporter = NULL_REPORTER) -> ImportReport:
    """Import files or folders, then (for what was imported) a bounded hub lookup and an incremental sync.

    Failures of single sources are in the report; nothing is raised for them
    (see :meth:`ImportReport.error`).
    """
    from pumasfs.importing.importer import import_paths

    if options.dry_run and not ws.layout.models_dir.is_dir():
        # A dry run writes nothing, so it must not create a library either: plan against an
        # empty one in a scratch folder (nothing could be a duplicate there anyway).
        import tempfile

        with tempfile.TemporaryDirectory(prefix="pumas-dry-run-") as scratch:
            empty = Workspace(Path(scratch))
            try:
                results = import_paths(empty.library, list(paths), options, progress=_ImportProgress(reporter),
                                       notify=reporter.warn)
            finally:
                empty.close()
        return ImportReport(results=results, dry_run=True)
    results = import_paths(ws.library, list(paths), options, progress=_ImportProgress(reporter),
                           notify=reporter.warn)
    report = ImportReport(results=results, dry_run=options.dry_run)
    if report.imported:
        if lookup:
            report.lookup = lookup_after_import(ws, report.imported, deadline_s=lookup_deadline_s)
        report.apps = catch_up_apps(ws, reporter)
    return report
