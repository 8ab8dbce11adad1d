"""Sniff a weights file's container from its first bytes, never from its extension.

Extensions lie (.bin is a pickle, a zip of pickles or a safetensors renamed by a hub; .pt can
be any of them), the magic bytes do not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pumasfs.identify import vocab

WEIGHT_EXTENSIONS = (".safetensors", ".sft", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".gguf", ".onnx")

# "model-00001-of-00003.safetensors", "diffusion_pytorch_model-00002-of-00002.fp16.safetensors"
SHARD_RE = re.compile(r"^(?P<stem>.+?)-(?P<index>\d{5})-of-(?P<total>\d{5})(?P<suffix>(?:\.[A-Za-z0-9_]+)*\.[A-Za-z0-9]+)$")


def is_weights_file(name: str | os.PathLike[str]) -> bool:
    """True when the file name has a weights extension (what ComfyUI and the importer list)."""
    return Path(name).name.lower().endswith(WEIGHT_EXTENSIONS)


def sniff(head: bytes, size: int) -> str | None:
    """Container format from the first (up to) 16 bytes; None when nothing matches."""
    if head[:4] == b"GGUF":
        return vocab.GGUF
    if head[:4] == b"PK\x03\x04":
        return vocab.ZIP_PICKLE  # torch's zip format; the reader checks for the pickle inside
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return vocab.PICKLE  # pickle PROTO opcode: legacy torch.save or a bare pickle
    if len(head) >= 9:
        n = int.from_bytes(head[:8], "little")
        # safetensors: u64 header length, then a JSON object ("{"); a length can only be
        # plausible if it fits in the file.
        if head[8:9] == b"{" and 0 < n:
            return vocab.SAFETENSORS
    if head[:1] == b"\x08" and size > 16:
        return vocab.ONNX  # protobuf field 1 (ir_version, varint): every ONNX ModelProto starts so
    return None
