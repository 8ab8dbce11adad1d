"""Shell completion of values: model ids, app names, kinds, subtypes, families.

Each completer runs on every Tab press, so it reads the library read-only and
cheaply (no pydantic, nothing created), and never fails: a problem completes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pumasfs.base.paths import Layout, resolve_root

if TYPE_CHECKING:  # loaded only on a Tab press: every command module imports these completers
    from click.shell_completion import CompletionItem


def _layout(ctx: click.Context) -> Layout:
    root = ctx.find_root().params.get("root")
    return Layout(resolve_root(Path(root) if root else None))


def _items(values: list[str] | set[str], incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    low = incomplete.lower()
    return [CompletionItem(v) for v in sorted(values) if v.lower().startswith(low)]


def _column(ctx: click.Context, column: str) -> list[str]:
    from pumasfs.store.index import peek_column

    return peek_column(_layout(ctx).index_db, column)


def complete_models(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Full model ids, and the bare names `pumas show NAME` also accepts."""
    ids = _column(ctx, "model_id")
    if "/" in incomplete:
        return _items(ids, incomplete)
    names = {i.rsplit("/", 1)[-1] for i in ids}
    return _items(names | set(ids), incomplete)


def complete_subtypes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from pumasfs.identify.vocab import SUBTYPES

    return _items(set(SUBTYPES) | set(_column(ctx, "subtype")), incomplete)


def complete_families(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from pumasfs.store.metadata import known_vocabulary

    return _items(set(known_vocabulary()["family"]) | set(_column(ctx, "family")), incomplete)


def complete_types(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from pumasfs.identify.vocab import MODEL_TYPES

    return _items(set(MODEL_TYPES) | set(_column(ctx, "model_type")), incomplete)


def _apps(ctx: click.Context) -> list[dict[str, str]]:
    try:
        data = json.loads(_layout(ctx).apps_file.read_bytes())
        return [a for a in data.get("apps", []) if isinstance(a, dict)]
    except (OSError, ValueError, AttributeError):
        return []


def complete_apps(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Install names (app show/remove, mount)."""
    return _items({str(a.get("name")) for a in _apps(ctx) if a.get("name")}, incomplete)


def complete_app_selectors(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Install names and kinds (materialize, sync: a kind means every install of it)."""
    apps = _apps(ctx)
    return _items({str(a.get(k)) for a in apps for k in ("name", "kind") if a.get(k)}, incomplete)


def complete_kinds(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """App kinds `pumas app add` accepts."""
    try:
        from pumasfs.planning.map_store import known_kinds

        return _items(known_kinds(_layout(ctx)), incomplete)
    except Exception:  # a broken maps folder must not break the shell
        return []
