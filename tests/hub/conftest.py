"""Fixtures for the hub tests: a fake hub on 127.0.0.1 and models written straight into a library."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from pumasfs import staging
from pumasfs.library import Library
from pumasfs.metadata import FileEntry, ModelMetadata

from .fakehub import FakeHub


@pytest.fixture
def hub():
    h = FakeHub().start()
    yield h
    h.stop()


@pytest.fixture
def hub_env(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment a pumas process needs to talk to the fake hub (also applied to this process)."""
    env = {
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_OFFLINE": "",
        "HF_TOKEN": "",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "CIVITAI_OFFLINE": "1",  # these tests are about the hub; never reach civitai.com
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def in_process_ok() -> None:
    """huggingface_hub reads HF_HUB_OFFLINE once at import; in-process tests need it off."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        pytest.skip("HF_HUB_OFFLINE was set when huggingface_hub was imported in this test process")


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def weights(seed: str, size: int = 4096) -> bytes:
    """Deterministic bytes that look nothing alike for different seeds."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def safetensors_bytes(seed: str, floats: int = 1024, name: str = "model.weight") -> bytes:
    """A small, valid safetensors file whose tensor data depends on the seed."""
    import json
    import struct

    header = json.dumps({name: {"dtype": "F32", "shape": [floats], "data_offsets": [0, 4 * floats]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + weights(seed, 4 * floats)


def add_model(
    library: Library,
    file_name: str,
    data: bytes,
    *,
    model_type: str = "llm",
    family: str = "llama",
    subtype: str | None = None,
    extra_files: dict[str, bytes] | None = None,
    layout: str = "file",
    original_name: str | None = None,
    **fields,
) -> ModelMetadata:
    """A model committed the way an import commits it, without the importer."""
    from pumasfs.naming import slugify, stem_of

    files = {file_name: data, **(extra_files or {})}
    with staging.StagingDir(library.layout) as stage:
        entries = []
        for name, content in files.items():
            p = stage.content / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
            role = "weights" if name.endswith((".safetensors", ".gguf", ".bin", ".ckpt")) else "config"
            entries.append(FileEntry(name=name, original_name=name.rsplit("/", 1)[-1], size=len(content),
                                     sha256=hashlib.sha256(content).hexdigest(), role=role))
        stem = stem_of(original_name or file_name)
        meta = ModelMetadata(
            model_id="x", family=family, model_type=model_type, subtype=subtype,
            official_name=stem, cleaned_name=slugify(stem), files=entries,
            hashes={"sha256": hashlib.sha256(data).hexdigest()}, size_bytes=sum(len(c) for c in files.values()),
            original_name=original_name or file_name, primary_file=file_name, layout=layout, **fields,
        )
        return library.commit_staged(stage, meta)
