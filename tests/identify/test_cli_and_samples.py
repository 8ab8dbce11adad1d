"""`pumas identify` output and the sample library other suites build on."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

from click.testing import CliRunner

from pumasfs.cli.identify_cmd import identify
from pumasfs.identify import identify_path
from pumasfs.sample.samples import SAMPLE_EXPECT, write_sample_library
from tests.support.cli import cli_env, run_pumas


def test_sample_library_identifies(tmp_path):
    paths = write_sample_library(tmp_path)
    assert {p.name for p in paths} == set(SAMPLE_EXPECT)
    for p in paths:
        r = identify_path(p)
        assert (r.subtype, r.family, r.variant) == SAMPLE_EXPECT[p.name], (p.name, r)
    total = sum(f.stat().st_blocks * 512 for f in tmp_path.rglob("*") if f.is_file())
    assert total < 16 * 1024 * 1024  # a few MB of real bytes


def test_json_one_record_per_path_in_order(tmp_path):
    paths = write_sample_library(tmp_path)
    order = [str(paths[3]), str(paths[0]), str(paths[-1])]
    r = CliRunner().invoke(identify, order + ["--json"])
    assert r.exit_code == 0, r.output
    recs = json.loads(r.stdout)
    assert [x["path"] for x in recs] == order


def test_plain_table_and_errors(tmp_path):
    """Through the real entry point (`python -m pumasfs`): a broken one fails here, nothing falls back."""
    paths = write_sample_library(tmp_path)
    env = cli_env(tmp_path / "home")
    r = run_pumas("identify", paths[0], tmp_path / "missing.gguf", root=None, env=env, check=False)
    out, err, code = r.stdout, r.stderr, r.returncode
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["path", "format", "subtype", "family"]
    assert "checkpoints" in lines[1] and "sd1" in lines[1]
    assert f"pumas: {tmp_path / 'missing.gguf'}: no such file or directory" in err
    assert "Traceback" not in err


def test_the_pumas_console_script_is_the_cli():
    """The `pumas` command pyproject installs runs the click group every test drives.

    It enters through pumasfs.cli.program (the collector off while the CLI loads, as with
    `python -m pumasfs`); that import turns the collector off, so it is loaded in a child.
    """
    [ep] = [e for e in entry_points(group="console_scripts") if e.name == "pumas"]
    assert ep.value == "pumasfs.cli.program:run"
    code = (
        "import gc\n"
        "from importlib.metadata import entry_points\n"
        "[ep] = [e for e in entry_points(group='console_scripts') if e.name == 'pumas']\n"
        "run = ep.load()\n"
        "import pumasfs.cli.main as m, pumasfs.cli.program as p\n"
        "print(run is p.run, p.main is m.main, gc.isenabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False"], out.stderr
