"""Builders for the importer's tests: real safetensors/pickle files, tmpfs mounts (from tests/support)."""

from __future__ import annotations

from tests.support.fs import model_dirs, tree
from tests.support.mounts import is_root, tmpfs
from tests.support.safetensors import DTYPE_BYTES, LORA, VAE, lora, pickle_file, write_safetensors

__all__ = ["DTYPE_BYTES", "LORA", "VAE", "is_root", "lora", "model_dirs", "pickle_file", "tmpfs", "tree",
           "write_safetensors"]
