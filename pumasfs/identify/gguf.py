"""Read a GGUF header: metadata key/values and tensor infos, never the tensor data.

The ``gguf`` package gives the format's constants (quant types, block sizes, file types). We
walk the header ourselves rather than with ``gguf.GGUFReader`` because that reader memory-maps
the whole file and builds a numpy field for every tokenizer entry (150k of them in a Qwen file),
which costs tenths of a second; here string arrays are skipped by their length prefixes.
"""

from __future__ import annotations

import os
import struct

from ..errors import PumasError
from .tensors import TensorTable

MAX_GGUF_HEADER = 1 << 30  # metadata + tensor infos; real files stay under ~20 MB
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_SIZE = {t: struct.calcsize(f) for t, f in _SCALAR.items()}
_U64 = struct.Struct("<Q")
KEEP_ARRAY = 64  # arrays longer than this (tokenizer vocabularies) are skipped, not decoded


class _Buf:
    """Grow-on-demand read buffer over a file descriptor (reads only the header region)."""

    def __init__(self, fd: int, size: int, path: str):
        self.fd, self.size, self.path = fd, size, path
        self.data = b""
        self.pos = 0

    def need(self, n: int) -> None:
        end = self.pos + n
        if end <= len(self.data):
            return
        if end > self.size:
            raise PumasError(f"{self.path}: truncated GGUF header (ends beyond the file)")
        if end > MAX_GGUF_HEADER:
            raise PumasError(f"{self.path}: GGUF header larger than {MAX_GGUF_HEADER >> 20} MB")
        want = min(max(end, 2 * len(self.data), 1 << 20), self.size, MAX_GGUF_HEADER)
        more = os.pread(self.fd, want - len(self.data), len(self.data))
        self.data += more
        if end > len(self.data):
            raise PumasError(f"{self.path}: truncated GGUF header")

    def scalar(self, t: int):
        fmt = _SCALAR.get(t)
        if fmt is None:
            raise PumasError(f"{self.path}: invalid GGUF value type {t}")
        n = _SIZE[t]
        self.need(n)
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += n
        return v

    def u32(self) -> int:
        return self.scalar(4)

    def u64(self) -> int:
        return self.scalar(10)

    def string(self, keep: bool = True):
        n = self.u64()
        if n > 1 << 28:
            raise PumasError(f"{self.path}: invalid GGUF string length {n}")
        self.need(n)
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8", "replace") if keep else None

    def skip_strings(self, count: int) -> None:
        """Step over ``count`` length-prefixed strings (a tokenizer vocabulary) without decoding them.

        This loop is the cost of identifying a GGUF file: a vocabulary holds 32k-260k strings, each
        found only from the previous one's length.  It is kept to plain locals and one C call per
        string; the buffer is grown only when the next length prefix or string runs past it.
        """
        unpack = _U64.unpack_from
        data, pos = self.data, self.pos
        end = len(data)
        left = count
        while left:
            if pos + 8 > end:
                self.pos = pos
                self.need(8)
                data, end = self.data, len(self.data)
            n = unpack(data, pos)[0]
            if n > 1 << 28:
                raise PumasError(f"{self.path}: invalid GGUF string length {n}")
            pos += 8 + n
            left -= 1
            if pos > end:
                self.pos = pos - n
                self.need(n)
                data, end = self.data, len(self.data)
        self.pos = pos

    def value(self, t: int):
        if t == 8:
            return self.string()
        if t == 9:
            et = self.u32()
            count = self.u64()
            keep = count <= KEEP_ARRAY
            if et == 8:
                if not keep:
                    self.skip_strings(count)
                    return f"<{count} strings>"
                return [self.string() for _ in range(count)]
            if et == 9:
                raise PumasError(f"{self.path}: nested GGUF arrays are not supported")
            n = _SIZE.get(et)
            if n is None:
                raise PumasError(f"{self.path}: invalid GGUF array type {et}")
            self.need(n * count)
            if keep:
                out = list(struct.unpack_from(f"<{count}{_SCALAR[et][1]}", self.data, self.pos))
            else:
                out = f"<{count} values>"
            self.pos += n * count
            return out
        return self.scalar(t)


def read_gguf(fd: int, size: int, path: str) -> tuple[TensorTable, dict, dict[str, int]]:
    """(table with torch-order shapes and GGML type names as dtype, key/values, type histogram)."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    b = _Buf(fd, size, path)
    b.need(24)
    if b.data[:4] != b"GGUF":
        raise PumasError(f"{path}: not a GGUF file")
    b.pos = 4
    version = b.u32()
    if version not in (2, 3):
        raise PumasError(f"{path}: unsupported GGUF version {version}")
    n_tensors = b.u64()
    n_kv = b.u64()
    if n_tensors > 10_000_000 or n_kv > 10_000_000:
        raise PumasError(f"{path}: invalid GGUF header (counts {n_tensors} tensors, {n_kv} keys)")
    kv: dict = {}
    for _ in range(n_kv):
        k = b.string()
        kv[k] = b.value(b.u32())
    t: dict[str, tuple[str, list[int]]] = {}
    end_max = 0
    for _ in range(n_tensors):
        name = b.string()
        nd = b.u32()
        if nd > 8:
            raise PumasError(f"{path}: invalid GGUF tensor info for {name!r}")
        dims = [b.u64() for _ in range(nd)]
        gt = b.u32()
        off = b.u64()
        try:
            qt = GGMLQuantizationType(gt)
            block, tsize = GGML_QUANT_SIZES[qt]
        except (ValueError, KeyError):
            raise PumasError(f"{path}: unknown GGML tensor type {gt} for {name!r}") from None
        n = 1
        for d in dims:
            n *= d
        end = off + (n // block) * tsize
        if end > end_max:
            end_max = end
        shape = dims[::-1]  # GGUF lists ne[0] (innermost) first; torch order is the reverse
        orig = kv.get(f"comfy.gguf.orig_shape.{name}")
        if isinstance(orig, list) and orig:
            shape = list(orig)
        t[name] = (qt.name, shape)
    align = kv.get("general.alignment", 32)
    if not isinstance(align, int) or align <= 0:
        align = 32
    data_start = -(-b.pos // align) * align
    if data_start + end_max > size:
        raise PumasError(f"{path}: truncated GGUF file (tensor data ends at {data_start + end_max}, "
                         f"file has {size} bytes)")
    return TensorTable(t), kv, {}


def gguf_precision(kv: dict, table: TensorTable) -> str | None:
    """The file type name (Q4_K_M, Q8_0 ...) when declared, else the dominant tensor type."""
    from gguf import LlamaFileType

    ft = kv.get("general.file_type")
    name = None
    if isinstance(ft, int):
        try:
            name = LlamaFileType(ft).name
        except ValueError:
            name = None
    if name is None:
        _, name = table.stats()
        name = name.upper() if name else None
    else:
        name = name.removeprefix("MOSTLY_").removeprefix("ALL_")
    return {"F32": "fp32", "F16": "fp16", "BF16": "bf16"}.get(name, name)
