"""A header's tensors as one table (name -> dtype, shape), whatever container they came from.

The rules only ever ask this table questions (is this key here, what is its shape, how many
numbered blocks start with this prefix), so safetensors, GGUF and pickles share one set of rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from pumasfs.base.errors import PumasError
from pumasfs.identify.vocab import PRECISION_OF_DTYPE

_BLOCK_NUM = re.compile(r"(\d+)")
_SHAPE, _DTYPE, _OFFSETS, _SECOND = itemgetter("shape"), itemgetter("dtype"), itemgetter("data_offsets"), itemgetter(1)


class TensorTable:
    """``t`` maps names to (dtype, shape) tuples, or, for safetensors (``raw``), to the header's own
    entry dicts: not copying a 2,500-entry header into tuples is most of what keeps identify near
    the cost of ``json.loads`` itself. ``data_size`` (safetensors) is checked against the offsets."""

    __slots__ = ("t", "raw", "data_size", "_params", "_precision", "_prefixes", "_joined")

    def __init__(self, t: dict[str, Any], raw: bool = False, data_size: int | None = None):
        self.t = t
        self.raw = raw
        self.data_size = data_size
        self._params: int | None = None
        self._precision: str | None = None
        self._prefixes: set[str] | None = None
        self._joined: str | None = None

    def items(self) -> Iterator[tuple[str, str, list[int]]]:
        """(name, dtype, shape) for every tensor."""
        if self.raw:
            for k, v in self.t.items():
                yield k, v["dtype"], v["shape"]
        else:
            for k, (dt, s) in self.t.items():
                yield k, dt, s

    def __len__(self) -> int:
        return len(self.t)

    def __contains__(self, k: str) -> bool:
        return k in self.t

    def shape(self, k: str) -> list[int] | None:
        v = self.t.get(k)
        if v is None:
            return None
        shape: list[int] = v["shape"] if self.raw else v[1]
        return shape

    def known_shape(self, k: str) -> list[int]:
        """The shape of a key the caller knows is there (TypeError if it is not, as indexing None would)."""
        s = self.shape(k)
        if s is None:
            raise TypeError(f"no tensor {k!r}")
        return s

    def dim(self, k: str, i: int) -> int | None:
        s = self.shape(k)
        if s is None or len(s) <= abs(i) - (1 if i < 0 else 0):
            return None
        try:
            return s[i]
        except IndexError:
            return None

    # -- whole-table statistics, computed once in one pass ------------------------------------
    def stats(self, path: str = "") -> tuple[int, str | None]:
        """(exact parameter count, dominant precision by element count)."""
        if self._params is None:
            by_dtype: dict[str, int] = {}
            total = 0
            prod = math.prod
            end_max = 0
            try:
                if self.raw:
                    # map/itemgetter keep the per-tensor work in C: this pass is what identify adds
                    # to json.loads for a 2,500-tensor checkpoint
                    vals = self.t.values()
                    ns = list(map(prod, map(_SHAPE, vals)))
                    dts = list(map(_DTYPE, vals))
                    total = sum(ns)
                    if vals:
                        end_max = max(map(_SECOND, map(_OFFSETS, vals)))
                    if len(set(dts)) == 1:
                        by_dtype[dts[0]] = total
                    else:
                        for dt, n in zip(dts, ns, strict=False):
                            by_dtype[dt] = by_dtype.get(dt, 0) + n
                else:
                    for dt, shape in self.t.values():
                        n = prod(shape)
                        total += n
                        by_dtype[dt] = by_dtype.get(dt, 0) + n
                if not isinstance(total, int) or not isinstance(end_max, int):
                    raise TypeError
            except (TypeError, KeyError, IndexError):
                raise PumasError(f"{path}: invalid tensor shape or entry in header") from None
            if self.data_size is not None and end_max > self.data_size:
                raise PumasError(f"{path}: truncated safetensors file (tensor data ends at {end_max} "
                                 f"but only {self.data_size} bytes follow the header)")
            if total < 0:
                raise PumasError(f"{path}: invalid tensor shape in header (negative size)")
            self._params = total
            if by_dtype:
                dt = max(by_dtype, key=by_dtype.__getitem__)
                self._precision = PRECISION_OF_DTYPE.get(dt, dt.lower() if isinstance(dt, str) else None)
        return self._params, self._precision

    def prefixes(self) -> set[str]:
        """First dotted component of every key (``model``, ``first_stage_model``, ``lora_unet_...``)."""
        if self._prefixes is None:
            self._prefixes = {k.partition(".")[0] for k in self.t}
        return self._prefixes

    # -- structure questions ------------------------------------------------------------------
    def first(self, *keys: str) -> str | None:
        for k in keys:
            if k in self.t:
                return k
        return None

    # Substring questions are answered on all names joined by newlines, once: str.find runs in C,
    # where a Python loop over 2,500 names per question would cost more than json.loads.
    def joined(self) -> str:
        if self._joined is None:
            self._joined = "\n" + "\n".join(self.t) + "\n"
        return self._joined

    def _line_at(self, i: int) -> str:
        j = self.joined()
        a = j.rfind("\n", 0, i) + 1
        b = j.find("\n", i)
        return j[a:b]

    def any_startswith(self, prefix: str | tuple[str, ...]) -> bool:
        j = self.joined()
        top = self.prefixes()
        for p in (prefix,) if isinstance(prefix, str) else prefix:
            head, dot, _ = p.partition(".")
            if dot and head not in top:
                continue  # answered by the set of first components, no scan
            if ("\n" + p) in j:
                return True
        return False

    def count_startswith(self, prefix: str) -> int:
        return self.joined().count("\n" + prefix)

    def any_endswith(self, suffix: str | tuple[str, ...]) -> str | None:
        j = self.joined()
        for s in (suffix,) if isinstance(suffix, str) else suffix:
            i = j.find(s + "\n")
            if i >= 0:
                return self._line_at(i)
        return None

    def any_contains(self, part: str) -> str | None:
        i = self.joined().find(part)
        return self._line_at(i) if i >= 0 else None

    def count_blocks(self, prefix: str) -> int:
        """Number of numbered blocks ``prefix{N}.`` (N = 0, 1, ... contiguous), like ComfyUI's count_blocks."""
        j = self.joined()
        n, pos = 0, 0
        while True:
            needle = f"\n{prefix}{n}."
            i = j.find(needle, pos)  # blocks are usually listed in order: search on from the last one
            if i < 0:
                i = j.find(needle)
                if i < 0:
                    return n
            pos = i
            n += 1

    def strip(self, prefix: str) -> TensorTable:
        """The sub-table under ``prefix`` with the prefix removed (a view: nothing is copied)."""
        return TableView(self, prefix)

    def without(self, prefixes: tuple[str, ...]) -> TensorTable:
        return TensorTable({k: v for k, v in self.t.items() if not k.startswith(prefixes)}, self.raw)


class TableView(TensorTable):
    """``parent.strip(prefix)`` without copying: every question is asked of the parent with the prefix
    put back. A checkpoint's UNet, VAE and text encoders are looked at this way."""

    __slots__ = ("parent", "pre", "_t")

    def __init__(self, parent: TensorTable, pre: str):
        # no TensorTable.__init__: the view has no table of its own until .t is asked for
        self.parent, self.pre = parent, pre
        self._t: dict[str, Any] | None = None
        self.raw = parent.raw
        self.data_size = None
        self._params = self._precision = self._prefixes = self._joined = None

    @property
    def t(self) -> dict[str, Any]:  # type: ignore[override]
        if self._t is None:
            lp = len(self.pre)
            self._t = {k[lp:]: v for k, v in self.parent.t.items() if k.startswith(self.pre)}
        return self._t

    def __len__(self) -> int:
        return self.parent.count_startswith(self.pre)

    def __contains__(self, k: str) -> bool:
        return (self.pre + k) in self.parent

    def shape(self, k: str) -> list[int] | None:
        return self.parent.shape(self.pre + k)

    def items(self) -> Iterator[tuple[str, str, list[int]]]:
        lp = len(self.pre)
        for k, dt, s in self.parent.items():
            if k.startswith(self.pre):
                yield k[lp:], dt, s

    def any_startswith(self, prefix: str | tuple[str, ...]) -> bool:
        ps = (prefix,) if isinstance(prefix, str) else prefix
        return self.parent.any_startswith(tuple(self.pre + p for p in ps))

    def count_startswith(self, prefix: str) -> int:
        return self.parent.count_startswith(self.pre + prefix)

    def count_blocks(self, prefix: str) -> int:
        return self.parent.count_blocks(self.pre + prefix)

    def _find_line(self, needle: str) -> str | None:
        j = self.parent.joined()
        i = j.find(needle)
        while i >= 0:
            line = self.parent._line_at(i)
            if line.startswith(self.pre):
                return line[len(self.pre):]
            i = j.find(needle, j.find("\n", i) + 1)
        return None

    def any_endswith(self, suffix: str | tuple[str, ...]) -> str | None:
        for s in (suffix,) if isinstance(suffix, str) else suffix:
            r = self._find_line(s + "\n")
            if r is not None:
                return r
        return None

    def any_contains(self, part: str) -> str | None:
        return self._find_line(part)

    def strip(self, prefix: str) -> TensorTable:
        return TableView(self.parent, self.pre + prefix)
