"""Exit codes raised one way (by the error type), as the README lists them."""

from __future__ import annotations

from pathlib import Path

from ..conftest import assert_one_line_error
from ..importer.helpers import pickle_file
from ..materializer.conftest import make_comfyui


def test_a_missing_path_is_4_everywhere(pumas, root: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    for args in (("import", nowhere), ("identify", nowhere), ("app", "add", "comfyui", nowhere),
                 ("relocate", tmp_path, nowhere)):
        r = pumas(*args, check=False)
        assert_one_line_error(r)
        assert r.returncode == 4, (args, r)


def test_an_unknown_app_kind_is_the_same_code_everywhere(pumas, tmp_path: Path) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    codes = set()
    for args in (("app", "add", "photoshop", comfy), ("materialize", "photoshop"), ("sync", "photoshop"),
                 ("app", "show", "photoshop")):
        r = pumas(*args, check=False)
        assert_one_line_error(r)
        codes.add(r.returncode)
    assert codes == {4}


def test_a_file_import_dry_run_would_refuse_is_not_0(pumas, tmp_path: Path) -> None:
    bad = pickle_file(tmp_path / "evil.ckpt", [("os", "system")])
    r = pumas("import", bad, "--dry-run", check=False)
    assert r.returncode == 1 and "would refuse" in r.stderr and "Traceback" not in r.stderr


def test_a_missing_library_drive_is_4(pumas, tmp_path: Path) -> None:
    r = pumas("--root", tmp_path / "unmounted" / "pumas", "import", tmp_path, check=False)
    assert_one_line_error(r)
    assert r.returncode == 4 and not (tmp_path / "unmounted").exists()
