"""`pumas mounts` lists this library's views, and says how many other roots' views it leaves out;
`--all` lists every root's, each with its root.  Two real libraries, each with a real mounted view."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import cli_env, run_pumas
from tests.support.comfyui import make_comfyui
from tests.support.safetensors import lora
from tests.view.conftest import is_mounted


def _library_with_view(root: Path, base: Path, env: dict[str, str], cli_mounts: list[Path]) -> Path:
    """A root holding one LoRA, a registered ComfyUI install and its view mounted by the real CLI."""
    src = lora(base / "src" / f"{root.name}-lora.safetensors", seed=len(root.name))
    run_pumas("import", src, "--no-lookup", root=root, env=env)
    run_pumas("app", "add", "comfyui", make_comfyui(base / "ComfyUI"), root=root, env=env)
    mp = base / "view"
    cli_mounts.append(mp)
    run_pumas("mount", "comfyui", mp, root=root, env=env)
    assert is_mounted(mp)
    return mp


@pytest.fixture
def two_roots(tmp_path: Path, cli_mounts: list[Path]) -> tuple[dict[str, str], list[tuple[Path, Path]]]:
    env = cli_env(tmp_path / "home")  # one user: both libraries are remembered in the same state file
    pairs = []
    for name in ("root-a", "root-b"):
        root = tmp_path / name
        pairs.append((root, _library_with_view(root, tmp_path / f"{name}-files", env, cli_mounts)))
    return env, pairs


def _ours(views: list[dict], tmp_path: Path) -> list[dict]:
    # The machine's mount table is shared with other test runs: only this test's views count.
    return [v for v in views if v["mountpoint"].startswith(f"{tmp_path}/")]


def test_mounts_lists_only_this_roots_views_and_says_so(two_roots, tmp_path: Path) -> None:
    env, [(root_a, mp_a), (root_b, mp_b)] = two_roots
    for root, mp, other in ((root_a, mp_a, mp_b), (root_b, mp_b, mp_a)):
        views = run_pumas("mounts", "--json", root=root, env=env).json()
        assert [(v["mountpoint"], v["app"], v["root"], v["state"]) for v in views] == [
            (str(mp), "comfyui", str(root), "active")]
        text = run_pumas("mounts", root=root, env=env).stdout
        assert f"views of {root}:" in text and str(mp) in text and str(other) not in text
        assert "of other library roots not shown: `pumas mounts --all` lists them" in text


def test_mounts_all_lists_every_roots_views_with_the_root(two_roots, tmp_path: Path) -> None:
    env, [(root_a, mp_a), (root_b, mp_b)] = two_roots
    views = _ours(run_pumas("mounts", "--all", "--json", root=root_a, env=env).json(), tmp_path)
    assert sorted((v["mountpoint"], v["root"], v["app"], v["state"]) for v in views) == [
        (str(mp_a), str(root_a), "comfyui", "active"), (str(mp_b), str(root_b), "comfyui", "active")]
    text = run_pumas("mounts", "--all", root=root_b, env=env).stdout
    header, *rows = text.splitlines()
    assert header.split()[:3] == ["MOUNTPOINT", "ROOT", "APP"]
    assert any(r.split()[:2] == [str(mp_a), str(root_a)] for r in rows)
    assert any(r.split()[:2] == [str(mp_b), str(root_b)] for r in rows)
    assert "not shown" not in text


def test_a_root_without_views_says_none_of_its_own_are_mounted(two_roots, tmp_path: Path) -> None:
    env, _ = two_roots
    empty = tmp_path / "root-c"
    run = run_pumas("mounts", root=empty, env=env)
    assert f"no views of {empty} mounted" in run.stdout and "not shown" in run.stdout
    assert run_pumas("mounts", "--json", root=empty, env=env).json() == []
    assert not empty.exists()  # a listing creates no library


def test_a_view_no_known_library_recorded_is_listed_without_a_root(two_roots, tmp_path: Path) -> None:
    """A view whose library this user never opened (another HOME) shows under --all with root "?"."""
    env, [(root_a, mp_a), (root_b, mp_b)] = two_roots
    stranger = cli_env(tmp_path / "other-home")
    views = _ours(run_pumas("mounts", "--all", "--json", root=root_a, env=stranger).json(), tmp_path)
    assert sorted((v["mountpoint"], v["root"]) for v in views) == [(str(mp_a), str(root_a)), (str(mp_b), None)]
    assert [v["mountpoint"] for v in run_pumas("mounts", "--json", root=root_a, env=stranger).json()] == [str(mp_a)]
