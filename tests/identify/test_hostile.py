"""Hostile and broken files: one-line PumasError naming the file and the reason, never a traceback."""

from __future__ import annotations

import json
import pickle
import struct
import zipfile

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.identify import identify_path
from pumasfs.sample.samples import safetensors_header, write_safetensors


def _err(path) -> str:
    with pytest.raises(PumasError) as ei:
        identify_path(path)
    msg = ei.value.message
    assert msg.startswith(str(path) + ": ")
    assert "\n" not in msg
    return msg


def test_truncated_header(tmp_path):
    p = tmp_path / "trunc.safetensors"
    head, _ = safetensors_header({"a": ("F16", [4, 4])})
    p.write_bytes(head[:20])
    assert "beyond the end of the file" in _err(p)


def test_header_length_beyond_file(tmp_path):
    p = tmp_path / "big.safetensors"
    p.write_bytes(struct.pack("<Q", 5000) + b'{"a": 1}')
    assert "goes beyond the end" in _err(p)


def test_truncated_data(tmp_path):
    p = tmp_path / "data.safetensors"
    head, data = safetensors_header({"a": ("F32", [1024, 1024])})
    p.write_bytes(head + bytes(100))
    assert "truncated" in _err(p)


def test_invalid_json(tmp_path):
    p = tmp_path / "bad.safetensors"
    raw = b'{"a": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]'  # no closing brace
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(2))
    assert "invalid safetensors header JSON" in _err(p)


def test_empty_header_object(tmp_path):
    p = tmp_path / "empty.safetensors"
    p.write_bytes(struct.pack("<Q", 2) + b"{}")
    rec = identify_path(p)  # an empty header is valid: identified as unknown, with a warning
    assert rec.model_type == "unknown" and rec.warnings


@pytest.mark.parametrize("raw", [b"[]", b'[{"a": 1}]', b'"text"', b"42"])
def test_header_not_an_object(tmp_path, raw):
    p = tmp_path / "list.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw)
    # Not even taken for safetensors: a header must start with "{".
    assert "unknown format" in _err(p)


def test_header_reader_refuses_a_json_array(tmp_path):
    """The reader's own check, for a caller that skips the format sniffing."""
    import os

    from pumasfs.identify.safetensors import read_header

    p = tmp_path / "list.safetensors"
    p.write_bytes(struct.pack("<Q", 2) + b"[]")
    fd = os.open(p, os.O_RDONLY)
    try:
        with pytest.raises(PumasError, match="not a JSON object"):
            read_header(fd, p.stat().st_size, str(p))
    finally:
        os.close(fd)


def test_entry_without_fields(tmp_path):
    p = tmp_path / "noshape.safetensors"
    raw = json.dumps({"a": {"dtype": "F16"}}).encode()
    p.write_bytes(struct.pack("<Q", len(raw)) + raw)
    assert "without dtype/shape" in _err(p)


def test_bad_shape(tmp_path):
    p = tmp_path / "shape.safetensors"
    raw = json.dumps({"a": {"dtype": "F16", "shape": ["x"], "data_offsets": [0, 0]}}).encode()
    p.write_bytes(struct.pack("<Q", len(raw)) + raw)
    assert "invalid tensor shape" in _err(p)


def test_100mb_header_refused(tmp_path):
    p = tmp_path / "huge.safetensors"
    n = 101 * 1024 * 1024
    with open(p, "wb") as f:
        f.write(struct.pack("<Q", n) + b"{")
        f.truncate(8 + n + 10)  # sparse: the length is plausible for the file, but over the cap
    assert "larger than the 100 MB limit" in _err(p)


def test_pickle_with_os_system(tmp_path):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    p = tmp_path / "evil.pt"
    p.write_bytes(pickle.dumps({"weight": Evil()}, protocol=2))
    rec = identify_path(p)
    assert not (tmp_path / "pwned").exists()  # never executed
    assert rec.unsafe_format
    assert any(g in ("posix.system", "os.system", "nt.system") for g in rec.unsafe_globals)
    assert any("unsafe" in w for w in rec.warnings)


def test_zip_pickle_with_eval(tmp_path):
    p = tmp_path / "evil.ckpt"
    payload = b"\x80\x02cbuiltins\neval\nX\x0b\x00\x00\x00print('hi')\x85R."
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/version", b"3\n")
    rec = identify_path(p)
    assert rec.unsafe_globals == ["builtins.eval"]
    assert rec.format == "zip-pickle"


def test_zip_without_pickle(tmp_path):
    p = tmp_path / "notorch.pt"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", b"hello")
    assert "without a pickle" in _err(p)


def test_corrupt_pickle(tmp_path):
    p = tmp_path / "corrupt.pth"
    p.write_bytes(b"\x80\x02}q\x00(X\xff\xff\xff\x7fabc")
    msg = _err(p)
    assert "pickle" in msg


def test_gguf_truncated(tmp_path):
    p = tmp_path / "t.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + struct.pack("<Q", 10_000) + b"abc")
    assert "truncated GGUF" in _err(p)


def test_gguf_data_missing(tmp_path):
    from pumasfs.sample.samples import write_gguf

    p = write_gguf(tmp_path / "m.gguf", "llama", {}, [("token_embd.weight", "F16", [1000, 64])], sparse=True)
    size = p.stat().st_size
    with open(p, "r+b") as f:
        f.truncate(size - 1000)
    assert "truncated GGUF file" in _err(p)


def test_empty_and_unknown(tmp_path):
    e = tmp_path / "empty.safetensors"
    e.write_bytes(b"")
    assert "empty file" in _err(e)
    u = tmp_path / "text.bin"
    u.write_bytes(b"this is not a model at all")
    assert "unknown format" in _err(u)


def test_missing_path(tmp_path):
    assert "no such file" in _err(tmp_path / "nope.safetensors")


def test_folder_with_one_bad_file_reports_the_others(tmp_path):
    from click.testing import CliRunner

    from pumasfs.cli.identify_cmd import identify

    d = tmp_path / "models"
    write_safetensors(d / "good.safetensors", {"emb_params": ("F32", [4, 768])})
    (d / "bad.safetensors").write_bytes(struct.pack("<Q", 99) + b"{")
    write_safetensors(d / "other.safetensors", {"clip_g": ("F32", [8, 1280]), "clip_l": ("F32", [8, 768])})
    r = CliRunner().invoke(identify, [str(d), "--json"])
    assert r.exit_code == 1
    recs = json.loads(r.stdout)
    assert [x["files"][0] for x in recs] == ["good.safetensors", "other.safetensors"]
    assert r.stderr.strip().splitlines() == [f"pumas: {d / 'bad.safetensors'}: safetensors header length 99 goes beyond the end of the file (9 bytes)"]
    assert "Traceback" not in r.output
