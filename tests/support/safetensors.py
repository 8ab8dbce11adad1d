"""Real model files for tests: safetensors with chosen tensors, raw pickles, deterministic bytes."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1, "U8": 1}

# Key layouts identification recognises (an SD1.5 LoRA, an SD VAE).
LORA = {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": ("F16", [320, 8]),
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": ("F16", [8, 320])}
VAE = {"encoder.conv_in.weight": ("F16", [128, 3, 3, 3]), "decoder.conv_in.weight": ("F16", [512, 4, 3, 3])}


def weights(seed: str, size: int = 4096) -> bytes:
    """Deterministic bytes that look nothing alike for different seeds."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def safetensors_bytes(seed: str, floats: int = 1024, name: str = "model.weight") -> bytes:
    """A small, valid safetensors file (one F32 tensor) whose tensor data depends on the seed."""
    header = json.dumps({name: {"dtype": "F32", "shape": [floats], "data_offsets": [0, 4 * floats]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + weights(seed, 4 * floats)


def write_safetensors(path: Path, tensors: dict, *, fill: bytes = b"\0", total_size: int | None = None,
                      metadata: dict | None = None) -> Path:
    """A real safetensors file: 8-byte LE header length, JSON header, tensor data.

    ``fill`` varies the data so that two files differ; ``total_size`` pads the
    last tensor region with a sparse tail (a big file that costs no disk).
    """
    header: dict = {}
    off = 0
    for name, (dtype, shape) in tensors.items():
        n = DTYPE_BYTES[dtype]
        for s in shape:
            n *= s
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    if total_size is not None:
        # One big U8 tensor takes whatever room is left, so the file stays valid.
        base = len(json.dumps(header)) + 200
        extra = total_size - 8 - base - off
        header["pad"] = {"dtype": "U8", "shape": [extra], "data_offsets": [off, off + extra]}
        off += extra
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    if total_size is not None:
        raw = raw.ljust(total_size - 8 - off)  # pad the header with spaces (allowed) to hit the size
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        if total_size is None:
            f.write((fill * (off // len(fill) + 1))[:off])
        else:
            f.write(fill[:1] * min(off, 4096))
            f.truncate(8 + len(raw) + off)
    return path


def lora(path: Path, seed: int = 0) -> Path:
    """An SD1.5 LoRA whose bytes depend on ``seed``."""
    return write_safetensors(path, LORA, fill=bytes([seed % 251 + 1, 7, seed // 251 % 256]))


def pickle_file(path: Path, globals_: list[tuple[str, str]]) -> Path:
    """A raw protocol-2 pickle that references these globals (never unpickled by anyone)."""
    body = b"\x80\x02}q\x00("
    for i, (mod, name) in enumerate(globals_):
        body += b"X" + struct.pack("<I", 1) + str(i).encode() + b"c" + f"{mod}\n{name}\n".encode() + b")R"
    body += b"u."
    path.write_bytes(body)
    return path
