"""The CLI as a new user meets it: vocabulary checks, search, hints, help, tables, dry runs, roots."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from pumasfs.cli.main import COMMANDS, SHORT_HELP, cli, first_line
from pumasfs.store.library import Library

from ..conftest import assert_one_line_error
from ..importer.helpers import lora
from ..materializer.conftest import add_model, make_comfyui


@pytest.fixture
def stocked(library: Library) -> Library:
    add_model(library, "dreamshaper-8", family="sd1")
    add_model(library, "autismmixSDXL_autismmixPony", family="sdxl",
              file_name="autismmixSDXL_autismmixPony.safetensors")
    meta = add_model(library, "detail-slider", family="sdxl", subtype="loras")
    library.enrich(meta.model_id, {"trigger_words": ["ohwx person"]})
    library.close()
    return library


def test_edit_checks_the_vocabulary(pumas, stocked: Library) -> None:
    r = pumas("edit", "dreamshaper-8", "--set", "family=sdxxl", check=False)
    assert_one_line_error(r)
    assert r.returncode == 1 and "unknown family 'sdxxl'" in r.stderr and "sdxl" in r.stderr
    assert "--force" in r.stderr
    r = pumas("edit", "dreamshaper-8", "--set", "subtype=lora", check=False)
    assert_one_line_error(r)
    assert "unknown subtype 'lora'" in r.stderr and "loras" in r.stderr
    assert "diffusion/sd1/dreamshaper-8" in [m["model_id"] for m in pumas("list", "--json").json()]  # not moved
    out = pumas("edit", "dreamshaper-8", "--set", "family=my-base", "--force").stdout
    assert "diffusion/my-base/dreamshaper-8" in out


def test_list_filters_any_case_and_searches_substrings(pumas, stocked: Library) -> None:
    ids = lambda *args: [m["model_id"] for m in pumas("list", *args, "--json").json()]  # noqa: E731
    assert ids("--family", "SDXL") == ["diffusion/sdxl/autismmixsdxl_autismmixpony", "diffusion/sdxl/detail-slider"]
    assert ids("--subtype", "LORAS") == ["diffusion/sdxl/detail-slider"]
    assert ids("--search", "pony") == ["diffusion/sdxl/autismmixsdxl_autismmixpony"]
    assert ids("--search", "MixPony.safetensors") == ["diffusion/sdxl/autismmixsdxl_autismmixpony"]
    assert ids("--search", "ohwx") == ["diffusion/sdxl/detail-slider"]  # a trigger word
    assert ids("--search", "100%_") == []  # LIKE wildcards are literal


def test_unknown_model_ids_get_a_did_you_mean(pumas, stocked: Library) -> None:
    r = pumas("show", "dreamshaper", check=False)
    assert_one_line_error(r)
    assert r.returncode == 4 and "did you mean diffusion/sd1/dreamshaper-8?" in r.stderr
    r = pumas("edit", "dreamshapr-8", "--set", "tags=x", check=False)
    assert "did you mean diffusion/sd1/dreamshaper-8?" in r.stderr


def test_list_has_used_by_and_totals(pumas, stocked: Library, tmp_path: Path) -> None:
    comfy = make_comfyui(tmp_path / "ComfyUI")
    pumas("app", "add", "comfyui", comfy)
    pumas("materialize", "comfyui")
    out = pumas("list").stdout.splitlines()
    assert out[0].split()[-2:] == ["USED", "BY"]
    assert all(line.rstrip().endswith("comfyui") for line in out[1:4])
    assert re.fullmatch(r"3 model\(s\), \d+ B; 3 used by an app", out[-1])
    filtered = pumas("list", "--family", "sd1").stdout.splitlines()[-1]
    assert filtered.startswith("1 model(s) (of 3)")
    header = pumas("app", "list").stdout.splitlines()[0]
    assert "LINK TYPE" in header and "LINKS" not in header.replace("LINK TYPE", "")


def test_help_shows_whole_descriptions(pumas) -> None:
    top = pumas("--help").stdout
    commands = top[top.index("Commands:"):]
    cut = lambda text: [line for line in text.splitlines() if line.rstrip().endswith("...")]  # noqa: E731
    assert cut(commands) == []
    assert "(never" in commands and "loads weights)." in commands  # the identify line, wrapped, not cut
    assert cut(pumas("app", "--help").stdout.split("Commands:")[1]) == []


def test_short_help_table_matches_the_docstrings() -> None:
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        assert SHORT_HELP.get(name, first_line(command)) == first_line(command), name


def test_help_loads_no_command_module(pumas) -> None:
    code = ("import sys; from pumasfs.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('pumasfs.cli.', 'pydantic'))))")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['pumasfs.cli.main', 'pumasfs.cli.state']"


def _complete(pumas, root: Path, words: str) -> list[str]:
    line = f"pumas --root {root} {words}"
    r = pumas(env_extra={"_PUMAS_COMPLETE": "bash_complete", "COMP_WORDS": line,
                         "COMP_CWORD": str(len(line.split()) - (0 if line.endswith(" ") else 1))})
    return [part.split(",", 1)[1] for part in r.stdout.split()]


def test_completion_of_models_apps_subtypes_families(pumas, stocked: Library, root: Path, tmp_path: Path) -> None:
    pumas("app", "add", "comfyui", make_comfyui(tmp_path / "ComfyUI"))
    assert _complete(pumas, root, "show dream") == ["dreamshaper-8"]
    assert _complete(pumas, root, "show diffusion/sdxl/d") == ["diffusion/sdxl/detail-slider"]
    assert _complete(pumas, root, "app show co") == ["comfyui"]
    assert "loras" in _complete(pumas, root, "list --subtype lo")
    assert _complete(pumas, root, "list --family sdxl-") == ["sdxl-refiner"]


def test_reading_a_root_that_does_not_exist_creates_nothing(pumas, tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    for args in (("list",), ("show", "x"), ("app", "list"), ("doctor",), ("scan",)):
        r = pumas("--root", typo, *args, check=False)
        assert_one_line_error(r)
        assert r.returncode == 4 and f"no library at {typo}" in r.stderr, args
    src = lora(tmp_path / "x.safetensors")
    assert "-> diffusion/unknown/x" in pumas("--root", typo, "import", "--dry-run", src).stdout  # writes nothing
    assert not typo.exists()
    pumas("--root", typo, "import", src, "--no-lookup")  # writing creates it
    assert [m["official_name"] for m in pumas("--root", typo, "list", "--json").json()] == ["x"]


def test_import_dry_run_lines_are_short_with_a_summary(pumas, tmp_path: Path) -> None:
    src = tmp_path / "downloads"
    src.mkdir()
    for i in range(3):
        lora(src / f"detail-{i}.safetensors", seed=i)
    bad = src / "sub"
    bad.mkdir()
    from ..importer.helpers import pickle_file

    pickle_file(bad / "evil.ckpt", [("os", "system")])
    r = pumas("import", "--dry-run", src, check=False)
    out = r.stdout.splitlines()
    # One short line per model: paths relative to the folder given, no evidence dump.
    assert [line.split()[1] for line in out if line.startswith("dry-run")] == [
        "downloads/detail-0.safetensors", "downloads/detail-1.safetensors", "downloads/detail-2.safetensors",
        "downloads/sub/evil.ckpt:"]
    assert all(len(line) <= 110 for line in out if not line.startswith("dry-run  downloads/sub")), out
    assert out[-1] == "dry run: 3 model(s) would be imported (30.8 KiB), 1 refused; nothing was changed"
    assert r.returncode == 5 and "1 of 4 imports would be refused" in r.stderr  # a refused file is not 0
