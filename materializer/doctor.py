"""Link health: what the registry says against what the app folders hold.

Findings (``pumasfs.store.health.Finding``; kinds in brackets):
- a link whose library file is gone [broken-link] or, for a hardlink, was
  replaced [stale-hardlink]: ours, so --fix removes it;
- a registry row whose link vanished [vanished-link]: --fix drops the row and
  the next sync recreates the link;
- a registry row whose link someone changed [changed-link]: --fix drops the
  row only; the disk is theirs now;
- a link into the library the registry does not know [orphaned-link]: not
  ours, never touched (a sync adopts it if it is exactly what the plan wants);
- a ``.pumas-tmp`` link left by a killed run [temp-leftover]: --fix removes it;
- an app whose folder is gone [app-missing]: not fixable here (an unmounted
  drive looks the same); `pumas app remove NAME` forgets it.

Every fix sets the app's ``dirty`` flag so that the next sync checks it fully.
"""

from __future__ import annotations

import os

from pumasfs.base.gcpause import gc_paused
from pumasfs.base.paths import Layout
from pumasfs.base.treewalk import walk_tree
from pumasfs.planning.installs import AppInstall
from pumasfs.store.health import Finding

from .links import HARDLINK, LINK_KINDS, TMP_SUFFIX, LinkSpec, on_disk_matches
from .registry import Registry


def _source_alive(spec: LinkSpec, abs_path: str, models_real: str) -> bool:
    if spec.kind == HARDLINK:
        try:
            st = os.stat(f"{models_real}/{spec.source}")
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == (spec.dev, spec.ino)
    return os.path.exists(abs_path)


def _in_library(abs_link: str, models_real: str) -> bool:
    try:
        target = os.readlink(abs_link)
    except OSError:
        return False
    resolved = os.path.normpath(os.path.join(os.path.realpath(os.path.dirname(abs_link)), target))
    real = os.path.realpath(abs_link) if os.path.exists(abs_link) else resolved
    return any(p == models_real or p.startswith(models_real + "/") for p in (resolved, real))


def check(reg: Registry, layout: Layout, apps: list[AppInstall], *, fix: bool = False) -> list[Finding]:
    with gc_paused():  # every app's registry rows held at once (100,000 at scale): no cycles among them
        return _check(reg, layout, apps, fix)


def _check(reg: Registry, layout: Layout, apps: list[AppInstall], fix: bool) -> list[Finding]:
    findings: list[Finding] = []
    models_real = os.path.realpath(layout.models_dir)
    states = {s.app: s for s in reg.states()}
    bases: dict[str, str] = {name: s.base_dir for name, s in states.items()}
    for app in apps:
        bases.setdefault(app.name, str(app.models_path))
    for name in sorted(reg.apps_with_links() - bases.keys()):
        findings.append(Finding(kind="app-missing", path=name, detail="links recorded for an app with no recorded folder"))

    for name, base in sorted(bases.items()):
        if not os.path.isdir(base):
            findings.append(Finding(
                kind="app-missing", path=base,
                detail=f"{name}: folder is gone or its drive is not mounted; `pumas app remove {name}` forgets it",
            ))
            continue
        state = states.get(name)
        lib_real = state.models_real if state and state.models_real else models_real
        rows = reg.links_of_app(name)
        links, others = _list_app(base)
        drop: list[str] = []
        for path, spec in sorted(rows.items()):
            abs_path = f"{base}/{path}"
            if path in links and LINK_KINDS[spec.kind].symlink:
                matches, present = _readlink(abs_path) == spec.target, True  # the walk saw a link here
            elif path in others and LINK_KINDS[spec.kind].symlink:
                matches, present = False, True  # a file or folder where our link was
            else:  # a hardlink, or a path the walk did not see (gone, or under a linked folder)
                matches = on_disk_matches(spec, abs_path)
                present = matches or os.path.lexists(abs_path)
            if matches:
                if _source_alive(spec, abs_path, lib_real):
                    continue
                kind = "stale-hardlink" if spec.kind == HARDLINK else "broken-link"
                f = Finding(kind=kind, path=abs_path, fixable=True,
                            detail=f"{spec.model_id}: library file {spec.source} is gone"
                            + (" or was replaced" if spec.kind == HARDLINK else ""))
                if fix:
                    try:
                        os.unlink(abs_path)
                        f.fixed = True
                        drop.append(path)
                    except OSError as e:
                        f.detail += f" (cannot remove: {e.strerror})"
                findings.append(f)
            elif not present:
                findings.append(Finding(kind="vanished-link", path=abs_path, fixable=True, fixed=fix,
                                        detail=f"{spec.model_id}: registered, but the link is gone"))
                if fix:
                    drop.append(path)
            else:
                findings.append(Finding(kind="changed-link", path=abs_path, fixable=True, fixed=fix,
                                        detail=f"{spec.model_id}: someone replaced the link pumas made; "
                                        "--fix stops tracking it and leaves it alone"))
                if fix:
                    drop.append(path)
        findings += _unrecorded(links, rows, models_real, fix)
        if fix and drop:
            with reg.transaction():
                reg.delete(name, drop)
                reg.mark_dirty(name, True)
    return findings


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _list_app(base: str) -> tuple[dict[str, str], set[str]]:
    """One walk of an app folder, links not followed (``walk_tree``): (app-relative path ->
    absolute path of every link, app-relative paths of everything else but folders)."""
    links: dict[str, str] = {}
    others: set[str] = set()
    for e, rel, kind in walk_tree(base):
        if kind == "link":
            links[rel] = e.path
        elif kind == "file":
            others.add(rel)
    return links, others


def _unrecorded(links: dict[str, str], rows: dict[str, LinkSpec], models_real: str, fix: bool) -> list[Finding]:
    """Orphaned links and temp leftovers: the links of the app folder the registry does not know."""
    out: list[Finding] = []
    for rel, abs_path in links.items():
        if rel in rows or not _in_library(abs_path, models_real):
            continue
        name = rel.rpartition("/")[2]
        if name.startswith(".") and name.endswith(TMP_SUFFIX):
            f = Finding(kind="temp-leftover", path=abs_path, fixable=True,
                        detail="a temporary link left by an interrupted materialize")
            if fix:
                os.unlink(abs_path)
                f.fixed = True
            out.append(f)
            continue
        out.append(Finding(kind="orphaned-link", path=abs_path,
                           detail="a link into the library that pumas did not record; left alone "
                           "(`pumas sync` adopts it if it is exactly what the plan wants)"))
    return out
