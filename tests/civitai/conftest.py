"""Fixtures for the CivitAI tests: a fake CivitAI on 127.0.0.1 and the environment pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hub.conftest import (  # noqa: F401 (re-exported)  # noqa: F401 (fixtures for the tests that use both services)
    add_model,
    closed_port,
    hub,
    hub_env,
    safetensors_bytes,
    weights,
)

from .fakecivitai import FakeCivitai, FakeFile, FakeImage

TOKEN = "civitai-good-token"
SECRET = "sekrit-TOKEN-4f9a1c"  # a token that must never be printed


@pytest.fixture
def civ():
    c = FakeCivitai(token=TOKEN).start()
    yield c
    c.stop()


@pytest.fixture
def civ_env(civ: FakeCivitai, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment a pumas process needs to talk to the fake CivitAI (also applied here).

    The Hugging Face hub stays offline: these tests are about CivitAI.
    """
    env = {
        "CIVITAI_ENDPOINT": civ.url,
        "CIVITAI_API_TOKEN": "",
        "CIVITAI_OFFLINE": "",
        "HF_HUB_OFFLINE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def png_bytes(seed: str) -> bytes:
    """A real (tiny) PNG whose pixel depends on the seed."""
    import struct
    import zlib

    px = weights(seed, 3)
    raw = b"\x00" + px
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def lora_bytes(seed: str, ctx: int = 2048, rank: int = 4) -> bytes:
    """A UNet LoRA whose cross-attention key width says its base (768 SD1, 2048 SDXL) in its header."""
    import json as _json
    import struct

    key = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight"
    n = rank * ctx
    header = _json.dumps({key: {"dtype": "F32", "shape": [rank, ctx], "data_offsets": [0, 4 * n]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + weights(seed, 4 * n)


def lora_on_civitai(civ: FakeCivitai, seed: str = "lora", *, name: str = "Detail Tweaker", file_name: str | None = None,
                    images: list[FakeImage] | None = None, words: list[str] | None = None,
                    base_model: str = "SDXL 1.0", ctx: int = 2048, **model_kw):
    """A LoRA model with one version holding a real safetensors file."""
    data = lora_bytes(seed, ctx)
    model = civ.add_model(name, type="LORA", tags=["detail", "tool"], creator="alice", **model_kw)
    f = FakeFile(file_name or f"{seed}.safetensors", data)
    v = civ.add_version(model, "v1.0", [f], base_model=base_model,
                        trained_words=words if words is not None else ["detailed", "sharp focus"],
                        images=images if images is not None else [FakeImage(png_bytes(seed + "-x"), nsfw_level=8, ext="png"),
                                                                  FakeImage(png_bytes(seed + "-safe"), nsfw_level=1, ext="png")])
    return model, v, f
