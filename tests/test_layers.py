"""The layering of pumasfs/ (stated in pumasfs/__init__.py): no module imports a layer above its own.

Every import is read with ast, the lazy ones inside functions included, relative ones resolved from
the file's place.  Modules of one layer may import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Lowest first; the units on one line form one layer.
LAYERS: list[tuple[str, ...]] = [
    ("base",),
    ("identify",),
    ("store",),
    ("importing",),
    ("hub",),
    ("planning",),
    ("materializer", "view"),
    ("adopt",),
    ("usecases",),
    ("sample",),
    ("cli", "ui", "__main__"),
]
RANK = {unit: i for i, units in enumerate(LAYERS) for unit in units}
# Imports that go up today, each with its reason.  An entry whose import is gone fails the last test:
# remove it then.  Never add one to get a new import past this check.
KNOWN_UPWARD: dict[tuple[str, str], str] = {
    ("materializer.api", "pumasfs.usecases.install_mode"):
        "after a sync, a yaml-mode install's extra_model_paths.yaml section is refreshed",
    ("pumasfs.usecases.adopt", "pumasfs.cli.output"): "size_text formats the adopt summary",
}


def unit_of(module: str) -> str | None:
    """The layer unit a dotted module belongs to; None for pumasfs itself and for other packages."""
    parts = module.split(".")
    if parts[0] == "materializer":
        return "materializer"
    if parts[0] != "pumasfs" or len(parts) < 2 or (parts[1].startswith("__") and parts[1] != "__main__"):
        return None
    return parts[1]


def module_of(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imports_of(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported dotted name, line) for every import; `from a import b` yields a and a.b."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.Import):
            out += [(a.name, n.lineno) for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            if n.level:
                base = package[: len(package) - (n.level - 1)]
                target = ".".join(base + ([n.module] if n.module else []))
            else:
                target = n.module or ""
            out.append((target, n.lineno))
            out += [(f"{target}.{a.name}", n.lineno) for a in n.names]
    return out


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    me = unit_of(module)
    if module == "pumasfs":  # the root: its __version__ is read by every layer, so it imports none of them
        return [f"pumasfs imports {t}" for t, _ in imports_of(source, module, is_package) if unit_of(t)]
    if me is None:
        return [f"{module}: not in any layer"]
    if me not in RANK:
        return [f"{module}: {me!r} is in no layer (add it to LAYERS here and to pumasfs/__init__.py)"]
    found = []
    for target, line in imports_of(source, module, is_package):
        unit = unit_of(target)
        if unit is None or unit == me:
            continue
        if unit not in RANK:
            found.append(f"{module}:{line} imports {target}, which is in no layer")
        elif RANK[unit] > RANK[me] and not any(
            module == src and (target == dst or target.startswith(dst + ".")) for src, dst in KNOWN_UPWARD
        ):
            found.append(f"{module}:{line} imports {target}: layer {unit!r} is above {me!r}")
    return sorted(set(found))


def product_files() -> list[Path]:
    return sorted([*(REPO / "pumasfs").rglob("*.py"), *(REPO / "materializer").rglob("*.py")])


def test_every_module_sits_in_a_layer() -> None:
    flat = sorted(p.name for p in (REPO / "pumasfs").glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert flat == [], f"modules directly in pumasfs/ belong in a layer package: {flat}"
    packages = sorted(p.parent.name for p in (REPO / "pumasfs").glob("*/__init__.py"))
    assert [p for p in packages if p not in RANK] == []


def test_no_layer_imports_a_layer_above_it() -> None:
    found = []
    for path in product_files():
        module, is_package = module_of(path)
        found += violations(path.read_text(encoding="utf-8"), module, is_package)
    assert found == [], "\n".join(found)


def test_the_check_sees_upward_imports_of_every_shape() -> None:
    assert violations("from pumasfs.cli.main import main\n", "pumasfs.base.atomic")
    assert violations("def f():\n    from ..usecases import workspace\n", "pumasfs.store.library")
    assert violations("import pumasfs.planning.planner\n", "pumasfs.store.index")
    assert violations("from pumasfs import ui\n", "pumasfs.hub.download")
    assert violations("from .. import newlayer\n", "pumasfs.base.atomic")  # a package with no layer
    assert violations("from pumasfs.store import library\n", "pumasfs.store.index") == []
    assert violations("from ..base import atomic\nfrom .. import __version__\n", "pumasfs.store.library") == []
    assert violations("from pumasfs.base import errors\n", "pumasfs.cli", is_package=True) == []
    assert violations("from .base import errors\n", "pumasfs", is_package=True)


def test_every_known_upward_import_still_happens() -> None:
    seen = set()
    for path in product_files():
        module, is_package = module_of(path)
        for target, _line in imports_of(path.read_text(encoding="utf-8"), module, is_package):
            seen |= {(src, dst) for src, dst in KNOWN_UPWARD
                     if module == src and (target == dst or target.startswith(dst + "."))}
    assert set(KNOWN_UPWARD) - seen == set(), "remove these from KNOWN_UPWARD: the import is gone"
