"""The fast header readers agree with the format's reference readers, byte for byte of meaning.

- GGUF: our walk (tokenizer arrays stepped over with numpy) against ``gguf.GGUFReader``, on
  vocabularies built to break the shortcut: empty strings, strings of NUL bytes, strings of 256+
  bytes, every mix; and truncated files are refused.
- Pickles: our opcode decoder against ``pickle.loads`` on pure-data pickles of every protocol
  (the symbolic result of data is the data), the flat-tuple superinstruction against the opcodes
  one by one when it must give up halfway, and legacy files whose pickles run past the first read.
- The zip reader: data.pkl found from the central directory equals what ``zipfile`` reads, and a
  zip it does not handle (deflated) still goes through ``zipfile``.
- One folder classifier for identify and the import grouping.
"""

from __future__ import annotations

import os
import pickle
import random
import zipfile
from pathlib import Path

import gguf
import numpy as np
import pytest

from pumasfs.base.errors import PumasError
from pumasfs.identify import gguf as G
from pumasfs.identify import pickle as P
from pumasfs.identify import vocab as V
from pumasfs.identify.folders import folder_kind


def _write_gguf(path: Path, tokens: list[str], merges: list[str] | None = None) -> Path:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_uint32("general.alignment", 32)
    w.add_token_list(tokens)
    w.add_token_types([1] * len(tokens))
    if merges:
        w.add_token_merges(merges)
    w.add_string("after.the.vocab", "still read")
    w.add_tensor_info("token_embd.weight", [4, 8], np.dtype(np.float32), 128, raw_dtype=gguf.GGMLQuantizationType.F32)
    w.add_tensor_info("output.weight", [4, 8], np.dtype(np.float16), 64, raw_dtype=gguf.GGMLQuantizationType.F16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    with open(path, "r+b") as f:
        f.seek(0, 2)
        f.truncate(f.tell() + 256)
    return path


def _ours(path: Path) -> tuple[dict, dict]:
    fd = os.open(path, os.O_RDONLY)
    try:
        table, kv, _ = G.read_gguf(fd, path.stat().st_size, str(path))
    finally:
        os.close(fd)
    return table.t, kv


VOCABS = {
    "plain": lambda i: f"tok{i}",
    "empty strings": lambda i: "" if i % 7 == 0 else f"t{i}",
    "NUL bytes": lambda i: "\x00" * (i % 10) if i % 5 == 0 else f"t{i}",
    "long strings": lambda i: "y" * (256 + i % 40) if i % 3 == 0 else f"t{i}",
    "all long": lambda i: "z" * (300 + i % 7),
    "mixed": lambda i: ["", "\x00", "a", "é" * 130, "\x00" * 8 + "\x01", f"t{i}"][i % 6],
}


@pytest.mark.parametrize("kind", sorted(VOCABS))
@pytest.mark.parametrize("n", [5, 600, 20_000])
def test_gguf_walk_matches_the_reference_reader(tmp_path: Path, kind: str, n: int) -> None:
    tokens = [VOCABS[kind](i) for i in range(n)]
    merges = [f"{t} {t}" for t in tokens[: n // 2]] if n > 5 else None
    p = _write_gguf(tmp_path / "m.gguf", tokens, merges)
    table, kv = _ours(p)
    ref = gguf.GGUFReader(p)
    assert kv["after.the.vocab"] == "still read"  # the key after the arrays is where the walk says
    assert kv["tokenizer.ggml.tokens"] == (tokens if n <= G.KEEP_ARRAY else f"<{n} strings>")
    assert set(table) == {t.name for t in ref.tensors}
    for t in ref.tensors:
        assert table[t.name] == (t.tensor_type.name, [int(d) for d in reversed(t.shape)])


def test_gguf_walk_is_exact_at_every_count(tmp_path: Path) -> None:
    """_skip_strings from the middle of an array, for many counts, lands where the plain walk does."""
    random.seed(5)
    toks = [random.choice(["", "\x00", "ab", "x" * 300, "q" * random.randrange(1, 40)]) for _ in range(3000)]
    p = _write_gguf(tmp_path / "m.gguf", toks)
    fd = os.open(p, os.O_RDONLY)
    try:
        h = G._Header(fd, p.stat().st_size, str(p))
        data = h.need(p.stat().st_size)
        start = bytes(data[:h.valid]).find(b"tokenizer.ggml.tokens") + len("tokenizer.ggml.tokens") + 4 + 12
        for count in (1, 2, 511, 512, 513, 1000, 2999, 3000):
            want = G._walk(h, start, count)
            assert G._skip_strings(h, start, count) == want
    finally:
        os.close(fd)


def test_gguf_truncated_inside_the_vocabulary_is_refused(tmp_path: Path) -> None:
    p = _write_gguf(tmp_path / "m.gguf", [f"tok{i}" for i in range(5000)])
    raw = p.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(raw[: raw.find(b"tok4000")])
    with pytest.raises(PumasError, match="truncated GGUF"):
        _ours(cut)


class Thing:  # a class a pickle names: a GLOBAL our decoder reports, never imports
    def __init__(self) -> None:
        self.x = 1


DATA = {"a": [1, -2, 300, 70_000, 2**40, -(2**70), 2.5, "x", "é" * 3, None, True, False],
        "t": (1, (2, 3), (), ("a",)), "d": {"k": {"n": [[]]}}, "big": "z" * 300}
# frozensets and bytes have opcodes of their own from protocol 4 (3 for bytes); before, they are
# calls (builtins.frozenset, _codecs.encode) that the decoder leaves opaque, as it leaves a set's
# ADDITEMS (a tensor is never in one)
DATA4 = {**DATA, "f": frozenset({3}), "b": b"by"}


@pytest.mark.parametrize("proto", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_decoder_builds_the_data_pickle_builds(proto: int) -> None:
    raw = pickle.dumps(DATA4 if proto >= 4 else DATA, protocol=proto)
    obj, end = P.PickleScan("x").run(raw)
    assert obj == pickle.loads(raw)
    assert end == len(raw)


@pytest.mark.parametrize("proto", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_decoder_reports_globals_without_importing(proto: int) -> None:
    scan = P.PickleScan("x")
    scan.run(pickle.dumps({"w": Thing()}, protocol=proto))
    assert f"{__name__}.Thing" in scan.unsafe


def test_flat_tuple_superinstruction_gives_up_without_a_trace() -> None:
    # X'a' BINPUT0, MARK, BINGET0, X'b' BINPUT0, EMPTY_LIST (not a flat push: give up), TUPLE, STOP.
    # One by one, BINGET0 reads 'a'; had the attempt kept its BINPUT, it would read 'b'.
    raw = b"\x80\x02X\x01\x00\x00\x00aq\x00(h\x00X\x01\x00\x00\x00bq\x00]t."
    obj, _ = P.PickleScan("x").run(raw)
    assert obj == pickle.loads(raw) == ("a", "b", [])


def test_pickle_truncated_or_corrupt_is_one_error(tmp_path: Path) -> None:
    raw = pickle.dumps(DATA, protocol=2)
    for cut in (1, 5, len(raw) // 2, len(raw) - 1):
        p = tmp_path / "t.pt"
        p.write_bytes(raw[:cut])
        with pytest.raises(PumasError, match="corrupt pickle"):
            P.read_legacy_pickle(str(p))


def test_legacy_pickles_past_the_first_read(tmp_path: Path) -> None:
    """The object pickle of a legacy file that ends past LEGACY_FIRST_READ: read further, scan again."""
    big = {"pad": b"\x00" * (P.LEGACY_FIRST_READ * 3), "w": Thing()}
    p = tmp_path / "legacy.pt"
    with open(p, "wb") as f:
        for part in (P.LEGACY_MAGIC, 1001, {"little_endian": True}, big):
            pickle.dump(part, f, protocol=2)
        f.write(b"\x00" * 1000)  # the storages
    table, globs, unsafe = P.read_legacy_pickle(str(p))
    assert f"{__name__}.Thing" in unsafe and len(table) == 0


def _torch_zip(path: Path, pkl: bytes, compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/data/0", b"\x00" * 64)
        z.writestr("archive/version", b"3\n")
    return path


def test_zip_member_read_from_the_directory_equals_zipfile(tmp_path: Path) -> None:
    pkl = pickle.dumps({"k": list(range(50))}, protocol=2)
    p = _torch_zip(tmp_path / "a.pt", pkl)
    assert P._zip_member(str(p)) == pkl == P._zip_member_by_zipfile(str(p))
    d = _torch_zip(tmp_path / "d.pt", pkl, zipfile.ZIP_DEFLATED)
    assert P._zip_member(str(d)) is None  # compressed: zipfile's job
    assert P._zip_member_by_zipfile(str(d)) == pkl
    assert P.read_zip_pickle(str(d))[1] == P.read_zip_pickle(str(p))[1]
    # a zip with bytes before it (zipfile allows for them) is left to zipfile too
    pre = tmp_path / "pre.pt"
    pre.write_bytes(b"junk" * 10 + p.read_bytes())
    assert P._zip_member(str(pre)) is None


def test_zip_member_with_a_bad_crc_is_zipfiles_error(tmp_path: Path) -> None:
    pkl = pickle.dumps({"k": 1}, protocol=2)
    p = _torch_zip(tmp_path / "a.pt", pkl)
    raw = bytearray(p.read_bytes())
    i = raw.find(pkl)
    raw[i + len(pkl) - 2] ^= 0xFF
    p.write_bytes(bytes(raw))
    assert P._zip_member(str(p)) is None
    with pytest.raises(PumasError, match="corrupt zip|unreadable zip"):
        P.read_zip_pickle(str(p))


def test_one_folder_classifier(tmp_path: Path) -> None:
    def folder(name: str, *files: str) -> Path:
        d = tmp_path / name
        d.mkdir()
        for f in files:
            (d / f).write_bytes(b"{}" if f.endswith(".json") else b"\x00")
        return d

    pipe = folder("pipe", "model_index.json")
    assert folder_kind(pipe) == folder_kind(pipe, with_weights=True) == V.DIFFUSERS_FOLDER
    peft = folder("peft", "adapter_config.json", "adapter_model.safetensors")
    assert folder_kind(peft) == folder_kind(peft, with_weights=True) == V.PEFT_FOLDER
    bare_peft = folder("bare_peft", "adapter_config.json")
    assert folder_kind(bare_peft) == V.PEFT_FOLDER and folder_kind(bare_peft, with_weights=True) is None
    tf = folder("tf", "config.json", "model.safetensors")
    assert folder_kind(tf) == folder_kind(tf, with_weights=True) == V.TRANSFORMERS_FOLDER
    cfg_only = folder("cfg_only", "config.json")
    assert folder_kind(cfg_only) == V.TRANSFORMERS_FOLDER and folder_kind(cfg_only, with_weights=True) is None
    comp = folder("comp", "diffusion_pytorch_model.safetensors")
    (comp / "config.json").write_text('{"_class_name": "FluxTransformer2DModel"}')
    assert folder_kind(comp) == folder_kind(comp, with_weights=True) == V.DIFFUSERS_FOLDER
    shards = folder("shards", "model.safetensors.index.json")
    assert folder_kind(shards) == V.SHARDED_SET and folder_kind(shards, with_weights=True) is None
    assert folder_kind(folder("none", "a.txt")) is None


def test_pickle_superinstruction_counts_its_opcodes() -> None:
    """The opcode budget sees the opcodes a fused flat tuple stands for."""
    raw = b"\x80\x02" + b"(KKKKt".replace(b"K", b"K\x01") * 10 + b"."
    scan = P.PickleScan("x")
    scan.run(raw)
    # PROTO, 10 x (MARK + 4 BININT1 + TUPLE), STOP
    assert scan.budget.ops == 1 + 10 * 6 + 1
