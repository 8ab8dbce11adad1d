"""Use cases that write links into app folders: materialize, sync, relocate; and doctor."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from materializer.report import SyncReport
from pumasfs.base.errors import EXIT_CONFLICT, EXIT_PARTIAL, PumasError
from pumasfs.base.progress import NULL_REPORTER, Reporter
from pumasfs.store.health import Finding
from pumasfs.usecases.after_change import CatchUp, catch_up_apps
from pumasfs.usecases.apps import discover_installs
from pumasfs.usecases.workspace import Workspace


def materialize(ws: Workspace, selector: str, *, dry_run: bool = False, link_type: str | None = None,
                skip_conflicts: bool = False) -> list[SyncReport]:
    """Full sync of every install ``selector`` names (an install name or a kind).

    A ``link_type`` given for a real run is remembered on the install, so the
    next automatic sync does not undo it.
    """
    from materializer.api import materialize as full_sync
    from pumasfs.planning.app_discovery import resolve_apps
    from pumasfs.planning.installs import update_app

    lib = ws.library
    discover_installs(ws)
    reports = []
    for install in resolve_apps(ws.layout, selector):
        if link_type and not dry_run and install.link_type != link_type:
            install = update_app(ws.layout, install.name, link_type=link_type)
        reports.append(full_sync(ws.layout, lib, install, dry_run=dry_run, link_type=link_type,
                                 allow_conflicts=skip_conflicts))
    return reports


def sync_apps(ws: Workspace, selector: str | None = None, *, dry_run: bool = False,
              skip_conflicts: bool = False) -> list[SyncReport]:
    """Incremental sync: every materialized install, or those ``selector`` names (fully, if never before)."""
    from materializer.api import sync_pending
    from pumasfs.planning.app_discovery import resolve_apps

    lib = ws.library
    discover_installs(ws)
    apps = resolve_apps(ws.layout, selector) if selector else None
    return sync_pending(ws.layout, lib, apps, dry_run=dry_run, allow_conflicts=skip_conflicts)


def outcome_error(reports: list[SyncReport], *, dry_run: bool) -> PumasError | None:
    """How a batch of syncs ends: conflicts that blocked an app (3), errors (5), or None."""
    blocked = [r for r in reports if r.conflicts and not r.applied]
    if blocked and not dry_run:
        names = ", ".join(r.app for r in blocked)
        return PumasError(
            f"conflicts in {names}: nothing applied there (pumas never replaces what it did not make; move those "
            "files away, or pass --skip-conflicts to apply the rest)",
            exit_code=EXIT_CONFLICT,
        )
    if dry_run and any(r.conflicts for r in reports):
        return PumasError(f"{sum(len(r.conflicts) for r in reports)} conflict(s) in the plan (dry run)",
                          exit_code=EXIT_CONFLICT)
    errors = [e for r in reports for e in r.errors]
    if errors:
        return PumasError(f"{len(errors)} link(s) failed (see above)", exit_code=EXIT_PARTIAL)
    return None


def relocate(ws: Workspace, old: Path, new: Path, *, dry_run: bool = False) -> SyncReport:
    """A drive moved from mount point ``old`` to ``new``: rewrite absolute links and recorded paths."""
    from materializer.api import relocate as rewrite

    return rewrite(ws.writable_layout(), old, new, dry_run=dry_run)


@dataclass
class DoctorReport:
    findings: list[Finding] = field(default_factory=list)
    apps: CatchUp | None = None  # the catch-up sync after repairs, when something was fixed

    @property
    def healthy(self) -> bool:
        return all(f.fixed for f in self.findings)


def doctor(ws: Workspace, *, fix: bool = False, verify: bool = False, reporter: Reporter = NULL_REPORTER) -> DoctorReport:
    """Check the library, its index and every app's links; with ``fix``, make the safe repairs.

    ``verify`` also re-reads every library file and compares its SHA256 with the import's.
    """
    from pumasfs.store import health

    ws.require_library()
    lib = ws.library
    report = DoctorReport()
    report.findings += health.check_staging(lib, fix)
    report.findings += health.check_models(lib, fix)  # index and identity: models.db read once
    if verify:
        reporter.start("verifying", None, unit="bytes")
        report.findings += health.check_hashes(lib, progress=reporter.advance)
    if ws.layout.registry_db.exists() or ws.layout.apps_file.exists():
        from materializer.api import doctor as links_doctor

        report.findings += links_doctor(ws.layout, lib, fix=fix)
        from pumasfs.usecases.install_mode import check_installs

        report.findings += check_installs(ws, fix=fix)  # yaml/view installs: their section, tree and view
    if fix and any(f.fixed for f in report.findings):
        report.apps = catch_up_apps(ws, reporter)
    return report
