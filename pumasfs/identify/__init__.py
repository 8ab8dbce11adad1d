"""Identification: what a weights file or model folder is, from its headers alone.

Public API (the importer, doctor and CLI code against these names):

- ``identify_path(path, *, name_hint=None) -> Identification``
- ``Identification`` (pydantic record), ``is_weights_file(name)``, ``SHARD_RE``, ``shard_set_of(path)``
- ``vocab``: the public names (families, folder keys, formats)
"""

from __future__ import annotations

from pumasfs.identify import vocab
from pumasfs.identify.core import identify_path
from pumasfs.identify.folders import shard_set_of, weight_files
from pumasfs.identify.formats import SHARD_RE, WEIGHT_EXTENSIONS, is_weights_file
from pumasfs.identify.model import Identification

__all__ = ["Identification", "identify_path", "is_weights_file", "SHARD_RE", "shard_set_of", "weight_files",
           "WEIGHT_EXTENSIONS", "vocab"]
