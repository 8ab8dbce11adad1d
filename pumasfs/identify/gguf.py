"""Read a GGUF header: metadata key/values and tensor infos, never the tensor data.

The ``gguf`` package gives the format's constants (quant types, block sizes, file types). We
walk the header ourselves rather than with ``gguf.GGUFReader`` because that reader memory-maps
the whole file and builds a numpy field for every tokenizer entry (150k of them in a Qwen file),
which costs tenths of a second.

What identification needs is the scalar key/values and the tensor infos, which come after the
tokenizer's arrays; those arrays (32k-260k length-prefixed strings) are stepped over without
decoding.  Each string is found only from the previous one's length, so a Python loop pays
~100 ns per string, which was most of the cost of identifying a GGUF file; ``_chain`` steps over
them with numpy instead (see there), and exactly: every step it takes is one a plain walk takes.
"""

from __future__ import annotations

import functools
import os
import struct
import threading
from typing import cast

from pumasfs.base.errors import PumasError
from pumasfs.identify.tensors import TensorTable

MAX_GGUF_HEADER = 1 << 30  # metadata + tensor infos; real files stay under ~20 MB
FIRST_READ = 1 << 20  # one read covers the header of a model without a tokenizer (diffusion GGUFs)
MAX_STRING = 1 << 28
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_SIZE = {t: struct.calcsize(f) for t, f in _SCALAR.items()}
_STRUCT = {t: struct.Struct(f) for t, f in _SCALAR.items()}
_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_TYPE_OFFSET = struct.Struct("<IQ").unpack_from
_DIMS = [struct.Struct(f"<{n}Q").unpack_from for n in range(9)]
KEEP_ARRAY = 64  # arrays longer than this (tokenizer vocabularies) are skipped, not decoded
CHAIN_MIN = 512  # string arrays shorter than this are walked in Python (numpy's set-up costs more)
CHAIN_WINDOW = 1 << 20  # bytes one _chain call looks at: bounds what a poor guess costs

KVValue = str | int | float | bool | list[str] | list[int] | list[float] | list[bool]


class _Header:
    """The header bytes read so far: one read up front, then doubling reads when a walk runs past them.

    The bytes go into a per-thread scratch buffer that outlives the call: a fresh multi-megabyte
    buffer per file costs more in page faults than the header walk itself (a vocabulary makes
    the header 2-10 MB).  ``valid`` is how much of it holds this file's bytes.
    """

    __slots__ = ("fd", "size", "path", "data", "valid")

    def __init__(self, fd: int, size: int, path: str):
        self.fd, self.size, self.path = fd, size, path
        self.data = _scratch(FIRST_READ)
        self.valid = 0
        self._read(min(size, FIRST_READ))

    def _read(self, want: int) -> None:
        """Bytes [valid, want) of the file into the buffer (grown first if it is too small)."""
        if want > len(self.data):
            grown = _scratch(want)
            with memoryview(self.data) as old:
                grown[:self.valid] = old[:self.valid]
            self.data = grown
        with memoryview(self.data) as mv:
            while self.valid < want:
                with mv[self.valid:want] as part:
                    got = os.preadv(self.fd, [part], self.valid)
                if got <= 0:
                    break
                self.valid += got

    def need(self, end: int) -> bytearray:
        """The buffer, holding at least bytes [0, end) of the file."""
        if end <= self.valid:
            return self.data
        if end > self.size:
            raise PumasError(f"{self.path}: truncated GGUF header (ends beyond the file)")
        if end > MAX_GGUF_HEADER:
            raise PumasError(f"{self.path}: GGUF header larger than {MAX_GGUF_HEADER >> 20} MB")
        self._read(min(max(end, 2 * self.valid), self.size, MAX_GGUF_HEADER))
        if end > self.valid:
            raise PumasError(f"{self.path}: truncated GGUF header")
        return self.data


    def string(self, pos: int) -> tuple[str, int]:
        data = self.data if pos + 8 <= self.valid else self.need(pos + 8)
        n = _U64(data, pos)[0]
        if n > MAX_STRING:
            raise PumasError(f"{self.path}: invalid GGUF string length {n}")
        pos += 8
        if pos + n > self.valid:
            data = self.need(pos + n)
        return data[pos:pos + n].decode("utf-8", "replace"), pos + n

    def scalar(self, t: int, pos: int) -> tuple[int | float | bool, int]:
        st = _STRUCT.get(t)
        if st is None:
            raise PumasError(f"{self.path}: invalid GGUF value type {t}")
        data = self.need(pos + st.size)
        v: int | float | bool = st.unpack_from(data, pos)[0]
        return v, pos + st.size

    def value(self, t: int, pos: int) -> tuple[KVValue, int]:
        if t == 8:
            return self.string(pos)
        if t != 9:
            return self.scalar(t, pos)
        data = self.need(pos + 12)
        et, count = _TYPE_OFFSET(data, pos)
        pos += 12
        keep = count <= KEEP_ARRAY
        if et == 8:
            if keep:
                out: list[str] = []
                for _ in range(count):
                    s, pos = self.string(pos)
                    out.append(s)
                return out, pos
            return f"<{count} strings>", _skip_strings(self, pos, count)
        if et == 9:
            raise PumasError(f"{self.path}: nested GGUF arrays are not supported")
        n = _SIZE.get(et)
        if n is None:
            raise PumasError(f"{self.path}: invalid GGUF array type {et}")
        data = self.need(pos + n * count)
        if keep:
            return list(struct.unpack_from(f"<{count}{_SCALAR[et][1]}", data, pos)), pos + n * count
        return f"<{count} values>", pos + n * count


_local = threading.local()
KEEP_SCRATCH = 64 << 20  # a thread keeps a buffer up to this size between files


def _scratch(n: int) -> bytearray:
    """A buffer of at least ``n`` bytes: the thread's own one when it is big enough (contents undefined)."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is not None and len(buf) >= n:
        _local.buf = None  # taken: a nested or failed walk never shares it
        return buf
    return bytearray(n)


def _give_back(buf: bytearray) -> None:
    if len(buf) <= KEEP_SCRATCH:
        cur: bytearray | None = getattr(_local, "buf", None)
        if cur is None or len(cur) < len(buf):
            _local.buf = buf


def _skip_strings(h: _Header, pos: int, count: int) -> int:
    """The position after ``count`` length-prefixed strings starting at ``pos`` (none decoded)."""
    width = 8.0  # bytes per string to expect: 8 (an empty string) is a bound the array cannot undercut
    tries = 2  # arrays where _chain makes little progress (long strings) are walked in Python
    while count >= CHAIN_MIN and tries:
        # a window the rest of the array most likely fills: past the array, zero bytes (padding,
        # 0.0 scores) would each be a candidate start and cost more than they save
        stop = min(pos + min(int(width * count), CHAIN_WINDOW) + 16, h.size)
        data = h.need(stop)
        done, after = _chain(data, pos, count, stop - 8)
        if done:
            width = max(8.0, 0.95 * (after - pos) / done)
        pos, count = after, count - done
        if done < CHAIN_MIN:
            tries -= 1
            pos = _walk(h, pos, min(count, CHAIN_MIN))
            count -= min(count, CHAIN_MIN)
    return _walk(h, pos, count)


def _walk(h: _Header, pos: int, count: int) -> int:
    """The plain walk: one length read per string."""
    data = h.data
    end = h.valid
    for _ in range(count):
        if pos + 8 > end:
            data = h.need(pos + 8)
            end = h.valid
        n = _U64(data, pos)[0]
        if n > MAX_STRING:
            raise PumasError(f"{h.path}: invalid GGUF string length {n}")
        pos += 8 + n
    if pos > end:
        h.need(pos)  # the last string must be in the file
    return pos


def _chain(data: bytearray, pos: int, count: int, stop: int) -> tuple[int, int]:
    """Step over up to ``count`` strings from ``pos`` at numpy speed: -> (strings stepped, position after).

    A string shorter than 256 bytes starts with a u64 length whose 7 high bytes are zero.  Every
    such place in ``[pos, stop)`` is a candidate start (found with eight aligned u64 compares, one
    per byte phase); a candidate's successor is ``c + 8 + length``.  Walking from ``pos``, which is
    a real start, every next position is a real start: where it is the next candidate, the chain
    goes on in C (``nxt[i] == c[i+1]`` for a whole run of candidates at once); where it is not (a
    candidate inside a string's text, or a string of 256 bytes or more), the walk resumes at the
    true next position.  So the result is exactly what a plain walk gives.
    """
    import numpy as np

    rows = (stop - pos) // 8  # candidates whose whole u64 length lies before stop + 8 (read, valid bytes)
    if rows < 2:
        return 0, pos
    window = rows * 8
    cand = np.empty((rows, 8), dtype=bool)
    for k in range(8):
        np.less(np.frombuffer(data, dtype="<u8", count=rows, offset=pos + k), 256, out=cand[:, k])
    c = np.flatnonzero(cand)  # relative offsets, in order
    if not len(c) or c[0] != 0:
        return 0, pos
    nxt = c + 8 + np.frombuffer(data, dtype=np.uint8, offset=pos, count=window)[c]
    breaks = np.flatnonzero(nxt[:-1] != c[1:])
    last = len(c) - 1
    done, i, stray = 0, 0, 0
    while True:
        b = int(np.searchsorted(breaks, i))
        k = int(breaks[b]) if b < len(breaks) else last
        if done + k - i + 1 >= count:  # the strings at c[i..k] are real: enough of them
            return count, pos + int(nxt[i + count - done - 1])
        done += k - i + 1
        rel = int(nxt[k])
        while True:
            if rel >= window or (stray > 64 and stray * 4 > done):
                return done, pos + rel
            j = int(np.searchsorted(c, rel))
            if j < len(c) and c[j] == rel:
                break
            # not a candidate: a string of 256 bytes or more; step over it here
            n = _U64(data, pos + rel)[0]
            if n > MAX_STRING:
                return done, pos + rel  # the caller's plain walk reports it
            rel += 8 + n
            done += 1
            stray += 1
            if done >= count:
                return done, pos + rel
        i = j


@functools.cache
def _ggml_types() -> dict[int, tuple[str, int, int]]:
    """GGML type number -> (name, block size, bytes per block), from the gguf package."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    out: dict[int, tuple[str, int, int]] = {}
    for qt in GGMLQuantizationType:
        if qt in GGML_QUANT_SIZES:
            block, tsize = GGML_QUANT_SIZES[qt]
            out[int(qt)] = (qt.name, int(block), int(tsize))
    return out


def read_gguf(fd: int, size: int, path: str) -> tuple[TensorTable, dict[str, KVValue], dict[str, int]]:
    """(table with torch-order shapes and GGML type names as dtype, key/values, type histogram)."""
    types = _ggml_types()
    h = _Header(fd, size, path)
    data = h.need(24)
    if data[:4] != b"GGUF":
        raise PumasError(f"{path}: not a GGUF file")
    version = _U32(data, 4)[0]
    if version not in (2, 3):
        raise PumasError(f"{path}: unsupported GGUF version {version}")
    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)
    if n_tensors > 10_000_000 or n_kv > 10_000_000:
        raise PumasError(f"{path}: invalid GGUF header (counts {n_tensors} tensors, {n_kv} keys)")
    pos = 24
    kv: dict[str, KVValue] = {}
    for _ in range(n_kv):
        k, pos = h.string(pos)
        data = h.need(pos + 4)
        t = _U32(data, pos)[0]
        kv[k], pos = h.value(t, pos + 4)
    orig_shapes = any(k.startswith("comfy.gguf.orig_shape.") for k in kv)
    table: dict[str, tuple[str, list[int]]] = {}
    end_max = 0
    data = h.data
    avail = h.valid
    for _ in range(n_tensors):
        if pos + 8 > avail:
            data = h.need(pos + 8)
            avail = h.valid
        ln = _U64(data, pos)[0]
        if ln > MAX_STRING:
            raise PumasError(f"{path}: invalid GGUF string length {ln}")
        pos += 8
        if pos + ln + 4 > avail:
            data = h.need(pos + ln + 4)
            avail = h.valid
        name = data[pos:pos + ln].decode("utf-8", "replace")
        pos += ln
        nd = _U32(data, pos)[0]
        if nd > 8:
            raise PumasError(f"{path}: invalid GGUF tensor info for {name!r}")
        pos += 4
        if pos + 8 * nd + 12 > avail:
            data = h.need(pos + 8 * nd + 12)
            avail = h.valid
        dims = _DIMS[nd](data, pos)
        pos += 8 * nd
        gt, off = _TYPE_OFFSET(data, pos)
        pos += 12
        ty = types.get(gt)
        if ty is None:
            raise PumasError(f"{path}: unknown GGML tensor type {gt} for {name!r}")
        n = 1
        for d in dims:
            n *= d
        end = off + (n // ty[1]) * ty[2]
        if end > end_max:
            end_max = end
        shape = list(dims[::-1])  # GGUF lists ne[0] (innermost) first; torch order is the reverse
        if orig_shapes:
            orig = kv.get(f"comfy.gguf.orig_shape.{name}")
            if isinstance(orig, list) and orig:
                shape = cast(list[int], list(orig))
        table[name] = (ty[0], shape)
    align = kv.get("general.alignment", 32)
    if not isinstance(align, int) or align <= 0:
        align = 32
    data_start = -(-pos // align) * align
    if data_start + end_max > size:
        raise PumasError(f"{path}: truncated GGUF file (tensor data ends at {data_start + end_max}, "
                         f"file has {size} bytes)")
    _give_back(h.data)
    return TensorTable(table), kv, {}


def gguf_precision(kv: dict[str, KVValue], table: TensorTable) -> str | None:
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
    return {"F32": "fp32", "F16": "fp16", "BF16": "bf16"}.get(name or "", name)
