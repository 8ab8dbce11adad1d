"""Hostile model files: nested pickles, opcode floods, deep JSON, bad offsets, escape sequences."""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
from pathlib import Path

from pumasfs.base.paths import Layout
from tests.conftest import assert_one_line_error
from tests.importer.helpers import LORA, lora, write_safetensors

from .conftest import library_models


def _bytes_op(b: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(b)) + b  # BINBYTES (protocol 3)


def inner_system_pickle() -> bytes:
    """A pickle that would call posix.system('echo pwned') if anyone unpickled it (nobody does)."""
    return b"\x80\x02cposix\nsystem\nX\x0a\x00\x00\x00echo pwned\x85R."


def ckpt_with_embedded(path: Path, inner: bytes) -> Path:
    """A torch zip checkpoint whose data.pkl is {'state': torch.storage._load_from_bytes(inner)}."""
    data = (b"\x80\x03}X\x05\x00\x00\x00state" + b"ctorch.storage\n_load_from_bytes\n" + _bytes_op(inner)
            + b"\x85R" + b"s.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/version", "3\n")
    return path


def test_pickle_nested_in_a_pickle_is_scanned_with_the_same_rules(tmp_path: Path, pumas, root: Path):
    bad = ckpt_with_embedded(tmp_path / "dl" / "sneaky.ckpt", inner_system_pickle())
    r = pumas("import", bad, check=False)
    assert_one_line_error(r)
    assert "posix.system" in r.stderr and "refused" in r.stderr
    assert library_models(Layout(root).models_dir) == []
    # Nested twice, inside a zip: still found.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x03ctorch.storage\n_load_from_bytes\n" + _bytes_op(inner_system_pickle())
                   + b"\x85R.")
    deeper = ckpt_with_embedded(tmp_path / "dl" / "deeper.ckpt", buf.getvalue())
    r = pumas("import", deeper, check=False)
    assert "posix.system" in r.stderr and r.returncode == 1
    # An embedded pickle that is only data is fine.
    ok = ckpt_with_embedded(tmp_path / "dl" / "plain.ckpt", b"\x80\x02}q\x00.")
    assert pumas("import", "--json", ok).json()[0]["status"] == "imported"
    # --allow-unsafe imports the bad one, marked unsafe.
    out = pumas("import", "--json", "--allow-unsafe", bad).json()[0]
    assert out["status"] == "imported"
    assert pumas("show", "--json", out["model_id"]).json()["unsafe_format"] is True


def test_pickle_opcode_flood_is_refused_quickly(tmp_path: Path, pumas):
    flood = tmp_path / "flood.pt"
    flood.write_bytes(b"\x80\x02(" + b"N" * 30_000_000 + b"l.")
    start = time.monotonic()
    r = pumas("import", flood, check=False)
    took = time.monotonic() - start
    assert_one_line_error(r)
    assert "opcodes" in r.stderr or "to scan" in r.stderr, r.stderr
    assert took < 20, took  # was 30 s (to 20 million opcodes); now 2 million or 10 s, whichever comes first


def test_deep_json_in_safetensors_metadata_is_one_line(tmp_path: Path, pumas):
    path = tmp_path / "deep.safetensors"
    header = json.dumps({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})[:-1]
    header += ', "__metadata__": {"x": ' + "[" * 50_000 + "]" * 50_000 + "}}"
    raw = header.encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 4)
    r = pumas("import", path, check=False)
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr and "Recursion" not in r.stderr


def _safetensors_with(path: Path, entries: dict) -> Path:
    raw = json.dumps(entries).encode()
    end = max(e["data_offsets"][1] for e in entries.values())
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\1" * max(end, 0))
    return path


def test_safetensors_with_bad_offsets_are_refused(tmp_path: Path, pumas, root: Path):
    cases = {
        "negative": {"a": {"dtype": "F16", "shape": [2], "data_offsets": [-4, 0]},
                     "b": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}},
        "overlap": {"a": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]},
                    "b": {"dtype": "F16", "shape": [4], "data_offsets": [4, 12]}},
        "wrong-size": {"a": {"dtype": "F16", "shape": [4], "data_offsets": [0, 6]}},
        "hole": {"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
                 "b": {"dtype": "F16", "shape": [2], "data_offsets": [8, 12]}},
    }
    for name, entries in cases.items():
        r = pumas("import", _safetensors_with(tmp_path / f"{name}.safetensors", entries), check=False)
        assert_one_line_error(r)
        assert "offset" in r.stderr, (name, r.stderr)
    assert library_models(Layout(root).models_dir) == []
    good = write_safetensors(tmp_path / "good.safetensors", LORA)
    assert pumas("import", "--json", good).json()[0]["status"] == "imported"


def test_escape_sequences_in_names_are_shown_escaped(tmp_path: Path, pumas):
    evil = lora(tmp_path / "dl" / "evil\x1b[2J\x1b]0;owned\x07.safetensors", 7)
    mid = pumas("import", "--json", evil).json()[0]["model_id"]
    shown = pumas("show", mid).stdout
    assert "\\x1b" in shown  # shown, as an escape
    assert "\x1b" in pumas("show", "--json", mid).json()["original_name"]  # JSON keeps the truth (JSON-escaped)
    dup = pumas("import", evil)
    outs = [shown, pumas("list").stdout, pumas("show", mid + "\x1b[31m", check=False).stderr, dup.stdout, dup.stderr,
            pumas("rm", mid).stdout, pumas("trash", "list").stdout]
    for out in outs:
        assert "\x1b" not in out and "\x07" not in out, out
