"""The one-read pipeline: copy + SHA256 + BLAKE3, durable, and clean on every failure."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest

from pumasfs.base import hashing
from pumasfs.base.errors import PumasError

from .helpers import tmpfs


def _random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("size", [0, 1, hashing.CHUNK, 3 * hashing.CHUNK + 12345])
def test_copy_and_hash_matches_reference_hashes(tmp_path: Path, size: int):
    data = _random_file(tmp_path / "src", size)
    seen = []
    digest, stamp = hashing.copy_and_hash(tmp_path / "src", tmp_path / "dst", progress=seen.append)
    assert (tmp_path / "dst").read_bytes() == data
    assert digest == hashing.Digest(size, hashlib.sha256(data).hexdigest(), blake3.blake3(data).hexdigest())
    assert sum(seen) == size and stamp.size == size


def test_hash_file_reads_once_for_both(tmp_path: Path):
    data = _random_file(tmp_path / "src", 2 * hashing.CHUNK + 7)
    digest, _ = hashing.hash_file(tmp_path / "src")
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.blake3 == blake3.blake3(data).hexdigest()


def test_copy_refuses_to_overwrite(tmp_path: Path):
    _random_file(tmp_path / "src", 10)
    (tmp_path / "dst").write_bytes(b"precious")
    with pytest.raises(PumasError, match="cannot create"):
        hashing.copy_and_hash(tmp_path / "src", tmp_path / "dst")
    assert (tmp_path / "dst").read_bytes() == b"precious"


def test_missing_source_names_the_file(tmp_path: Path):
    with pytest.raises(PumasError, match="gone.safetensors: no such file"):
        hashing.copy_and_hash(tmp_path / "gone.safetensors", tmp_path / "dst")
    assert not (tmp_path / "dst").exists()


def test_source_truncated_while_read_is_an_error_and_leaves_no_partial(tmp_path: Path):
    src = tmp_path / "src"
    _random_file(src, 4 * hashing.CHUNK)

    def truncate_after_first_chunk(n: int) -> None:
        # Runs on the reader thread between two reads: a concurrent writer, deterministically.
        if os.path.getsize(src) == 4 * hashing.CHUNK:
            os.truncate(src, hashing.CHUNK + 5)

    with pytest.raises(PumasError, match="changed while it was being read"):
        hashing.copy_and_hash(src, tmp_path / "dst", progress=truncate_after_first_chunk)
    assert not (tmp_path / "dst").exists()


def test_source_changed_since_examined(tmp_path: Path):
    src = tmp_path / "src"
    _random_file(src, 100)
    _, stamp = hashing.hash_file(src)
    src.write_bytes(b"different")
    with pytest.raises(PumasError, match="changed since"):
        hashing.copy_and_hash(src, tmp_path / "dst", expect=stamp)
    assert not (tmp_path / "dst").exists()


def test_full_disk_is_one_clear_error_and_removes_the_partial_copy(tmp_path: Path):
    src = tmp_path / "model.safetensors"
    _random_file(src, 6 * 1024 * 1024)
    with tmpfs(tmp_path / "small", "2m") as small:
        with pytest.raises(PumasError) as info:
            hashing.copy_and_hash(src, small / "dst")
        assert "model.safetensors" in info.value.message and "no space left" in info.value.message
        assert list(small.iterdir()) == []


def test_verify_on_disk(tmp_path: Path):
    data = _random_file(tmp_path / "f", 1000)
    hashing.verify_on_disk(tmp_path / "f", hashlib.sha256(data).hexdigest())
    with pytest.raises(PumasError, match="does not match"):
        hashing.verify_on_disk(tmp_path / "f", "0" * 64)
