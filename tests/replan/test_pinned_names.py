"""A model pinned at a name that is not its library file's name, in both views.

Its pinned name is found through the index (``pins`` rows), so an incremental
sync, and a mounted view's poll, give exactly what a full plan gives, without
a conflict, whatever changes: the pinned model itself (edit, unpin, re-pin,
rm) or a model whose natural name is the pinned one (edit, import).
"""

from __future__ import annotations

from collections.abc import Callable

from materializer import api
from pumasfs.library import Library
from pumasfs.metadata import Pin
from tests.materializer.conftest import add_model
from tests.materializer.helpers import assert_consistent


def _pin(library: Library, model_id: str, app: str, *paths: str, files: bool = False) -> None:
    meta = library.get(model_id)
    primary = meta.primary_file or ""
    meta.pins = [p for p in meta.pins if p.app != app] + [
        Pin(app=app, path=p, files={p: primary} if files else {}) for p in paths
    ]
    library.save(meta)


def _sync(library: Library) -> None:
    reports = api.sync_pending(library.layout, library)
    for r in reports:
        assert r.mode == "incremental", r.mode
        assert r.conflicts == [] and r.errors == [], (r.conflicts, r.errors)


def _steps(library: Library, app_name: str, *, files: bool) -> list[tuple[str, Callable[[], object]]]:
    """Each step changes the library; after each one the incremental sync must equal a full plan."""
    alpha = add_model(library, "alpha", subtype="loras", added="2024-06-01T00:00:00Z")
    foo = add_model(library, "foo", subtype="loras", added="2020-01-01T00:00:00Z", data=b"f" * 32)
    state: dict[str, str] = {"alpha": alpha.model_id, "foo": foo.model_id}

    def import_another_foo() -> None:
        m = add_model(library, "foo", family="sdxl", subtype="loras", added="2019-01-01T00:00:00Z", data=b"g" * 32)
        state["foo2"] = m.model_id

    return [
        # alpha (file alpha.safetensors) takes foo's name: foo, map-placed, is renamed.
        ("pin alpha at foo", lambda: _pin(library, state["alpha"], app_name, "loras/foo.safetensors", files=files)),
        # foo changes: its natural name is alpha's pinned one, which the index must know.
        ("edit foo", lambda: library.edit(state["foo"], {"notes": "touched"})),
        ("import another foo", import_another_foo),
        ("edit alpha", lambda: library.edit(state["alpha"], {"notes": "touched"})),
        ("re-pin alpha elsewhere", lambda: _pin(library, state["alpha"], app_name,
                                                "loras/sdxl/characters/foo.safetensors", files=files)),
        ("pin alpha back", lambda: _pin(library, state["alpha"], app_name, "loras/foo.safetensors", files=files)),
        ("edit the other foo", lambda: library.edit(state["foo2"], {"notes": "touched"})),
        ("unpin alpha", lambda: _pin(library, state["alpha"], app_name)),
        ("pin alpha again", lambda: _pin(library, state["alpha"], app_name, "loras/foo.safetensors", files=files)),
        ("rm foo", lambda: library.remove(state["foo"])),
        ("rm alpha", lambda: library.remove(state["alpha"])),
    ]


def _run_links(library: Library, app, *, files: bool) -> None:
    add_model(library, "zeta", subtype="loras")
    api.materialize(library.layout, library, app)
    for name, step in _steps(library, app.name, files=files):
        step()
        _sync(library)
        assert_consistent(library, app)


def test_links_follow_a_pin_named_unlike_its_file(library: Library, app) -> None:
    _run_links(library, app, files=False)


def test_links_follow_an_adopted_pin_named_unlike_its_file(library: Library, app) -> None:
    """Adoption records the exact files (``Pin.files``): the same, through the other planner branch."""
    _run_links(library, app, files=True)
