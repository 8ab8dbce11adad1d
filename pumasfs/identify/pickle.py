"""Read tensor names and shapes out of a pickled checkpoint without executing it.

``torch.load`` / ``pickle.load`` run whatever the file names (a GLOBAL opcode can name
``os.system``). Instead we decode the opcode stream ourselves and interpret the few opcodes that
build dicts, lists, tuples and torch's tensor-rebuild calls on a symbolic stack (``_OPS``: one
entry per opcode byte). Nothing is imported or called. Every GLOBAL that is not a known
tensor-rebuild or container function is reported as unsafe (as picklescan does), and the model
is marked unsafe.

The decoder reads the pickle's bytes in place (``struct.unpack_from`` at an offset) rather than
through ``pickletools.genops``, whose per-opcode stream reads and generator cost ~5x more: a
state dict is ~20 opcodes per tensor, and this loop is most of what identifying a pickle costs.
Arguments are decoded as ``pickletools`` decodes them.

Both torch formats: the zip one (``archive/data.pkl`` inside a zip; only the central directory
and that member are read) and the legacy one (magic number, protocol, sys info, then the object
pickle, then the raw storages, which we never reach).
"""

from __future__ import annotations

import codecs
import io
import os
import struct
import time
import zipfile
import zlib
from collections.abc import Callable

from pumasfs.base.errors import PumasError
from pumasfs.identify.tensors import TensorTable

MAX_PICKLE = 256 * 1024 * 1024  # data.pkl of the largest real checkpoints is a few MB
# A state dict takes ~20 opcodes per tensor: 2 million is 100,000 tensors, far past the largest real
# checkpoint.  The time bound catches what is slow per opcode (huge strings, deep memo use).
MAX_OPS = 2_000_000
MAX_SECONDS = 10.0
MAX_NESTING = 3  # pickles inside pickles (torch.storage._load_from_bytes) scanned this deep, no deeper
CHECK_EVERY = 0xFFF  # opcodes between two checks of the budget (ops and time)
LEGACY_FIRST_READ = 1 << 20  # a legacy file's pickles are read this far first, then twice as far...

# storage class -> safetensors-style dtype
STORAGE_DTYPE = {
    "FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16", "DoubleStorage": "F64",
    "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
    "ByteStorage": "U8", "BoolStorage": "BOOL", "Float8_e4m3fnStorage": "F8_E4M3",
    "Float8_e5m2Storage": "F8_E5M2", "ComplexFloatStorage": "C64", "ComplexDoubleStorage": "C128",
    "UntypedStorage": "U8",
}
TORCH_DTYPE = {  # torch.<dtype> globals, used by _rebuild_tensor_v3 and untyped storages
    "float32": "F32", "float": "F32", "float16": "F16", "half": "F16", "bfloat16": "BF16", "float64": "F64",
    "int64": "I64", "long": "I64", "int32": "I32", "int": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
    "bool": "BOOL", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
}

REBUILD_TENSOR = {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3"}
REBUILD_PARAM = {"_rebuild_parameter", "_rebuild_parameter_with_state"}

# module -> allowed names ("*" = any name in that module). What torch.save writes for a state dict,
# plus the numpy / codecs helpers picklescan also treats as safe.
SAFE_GLOBALS: dict[str, set[str] | str] = {
    "torch._utils": REBUILD_TENSOR | REBUILD_PARAM | {"_rebuild_qtensor", "_rebuild_sparse_tensor",
                                                      "_rebuild_meta_tensor_no_storage", "_rebuild_device_tensor_from_numpy",
                                                      "_rebuild_nested_tensor", "_rebuild_wrapper_subclass"},
    "torch": {n for n in STORAGE_DTYPE} | set(TORCH_DTYPE) | {"Size", "device", "Tensor", "dtype"},
    "torch.storage": {"UntypedStorage", "TypedStorage", "_load_from_bytes"},
    "torch._tensor": {"_rebuild_from_type_v2"},
    "torch.nn.parameter": {"Parameter"},
    "collections": {"OrderedDict", "defaultdict"},
    "builtins": {"set", "frozenset", "dict", "list", "tuple", "slice", "bytearray", "complex", "int", "float", "str",
                 "bool", "bytes"},
    "__builtin__": {"set", "frozenset", "dict", "list", "tuple", "slice", "bytearray", "complex"},
    "_codecs": {"encode"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy": {"ndarray", "dtype"},
}


def is_safe_global(module: str, name: str) -> bool:
    allowed = SAFE_GLOBALS.get(module)
    return allowed is not None and (allowed == "*" or name in allowed)


class _G:  # a GLOBAL reference, never resolved
    __slots__ = ("module", "name", "model")

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name
        self.model = _CALLS.get((module, name))  # how a call to it is modelled, if it is


class _Tensor:
    __slots__ = ("dtype", "shape")

    def __init__(self, dtype: str, shape: list[int]):
        self.dtype, self.shape = dtype, shape


class _Opaque:  # the result of calling something we do not model
    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what


class _Short(Exception):
    """The bytes ended before STOP: for a legacy file, read further and scan again."""


_MARK = object()
_PERSID = "__persid__"

_U1 = struct.Struct("<B").unpack_from
_U2 = struct.Struct("<H").unpack_from
_I4 = struct.Struct("<i").unpack_from
_U4 = struct.Struct("<I").unpack_from
_U8 = struct.Struct("<Q").unpack_from
_F8 = struct.Struct(">d").unpack_from


def _mark_at(stack: list[object]) -> int:
    """Index of the topmost MARK.  The stack can hold a thousand items under a dict's MARK (SETITEMS
    come in batches of 1,000) while a tuple's MARK is a few items down: look at the top first, and
    let list.index (identity first, in C) do the looking."""
    n = len(stack)
    k = 8
    while True:
        lo = max(0, n - k)
        top = stack[lo:]
        top.reverse()
        try:
            return n - 1 - top.index(_MARK)
        except ValueError:
            if lo == 0:
                raise ValueError("MARK not found") from None
            k *= 16


class PickleScan:
    """Symbolic interpretation of one pickle stream."""

    def __init__(self, path: str, *, depth: int = 0, budget: _Budget | None = None):
        self.path = path
        self.globals: list[str] = []
        self.unsafe: list[str] = []
        self.depth = depth  # 0 for the file's own pickle, 1 for one embedded in it, ...
        self.budget = budget or _Budget()  # shared with nested scans: the bound is for the whole file
        self.stack: list[object] = []
        self.memo: dict[object, object] = {}
        self.done = False
        self.gcache: dict[bytes, _G] = {}  # GLOBAL's raw argument -> its (shared, never changed) reference

    def run(self, data: bytes, pos: int = 0) -> tuple[object, int]:
        """Interpret the pickle starting at ``data[pos]``: -> (the object STOP returns, position after STOP).

        Raises _Short when ``data`` ends first, PumasError for anything else wrong.
        """
        self.stack, self.memo, self.done = [], {}, False
        path, budget, ops_table = self.path, self.budget, _OPS
        ops = 0  # opcodes dispatched since they were last added to the budget (fused ones add themselves)
        try:
            while not self.done:
                op = data[pos]
                ops += 1
                if ops > CHECK_EVERY:
                    budget.ops += ops
                    ops = 0
                    budget.check(path)
                    if budget.ops > MAX_OPS:
                        raise PumasError(f"{path}: pickle stream of more than {MAX_OPS:,} opcodes: refused")
                if op == 0x52:  # REDUCE may scan a nested pickle, whose opcodes count into the same budget
                    budget.ops += ops
                    ops = 0
                pos = ops_table[op](self, data, pos + 1)
            budget.ops += ops
            return (self.stack[-1] if self.stack else None), pos
        except PumasError:
            raise
        except IndexError as e:
            if pos >= len(data):
                raise _Short from None
            raise PumasError(f"{path}: corrupt pickle ({e.__class__.__name__}: {str(e)[:80]})") from None
        except (struct.error, _Short):
            raise _Short from None
        except (ValueError, KeyError, TypeError, EOFError, AttributeError) as e:
            raise PumasError(f"{path}: corrupt pickle ({e.__class__.__name__}: {str(e)[:80]})") from None

    def pop_mark(self) -> list[object]:
        """The items above the topmost MARK, which goes too."""
        stack = self.stack
        i = _mark_at(stack)
        items = stack[i + 1:]
        del stack[i:]
        return items

    def name_global(self, gmod: str, gname: str) -> str:
        full = f"{gmod}.{gname}"
        if full not in self.globals:
            self.globals.append(full)
            if not is_safe_global(gmod, gname):
                self.unsafe.append(full)
        return full

    def call(self, fn: object, args: object) -> object:
        """What calling ``fn(*args)`` builds, as far as we model it (``_CALLS``); nothing is run."""
        if not isinstance(fn, _G):
            return _Opaque("call")
        if fn.model is not None:
            out = fn.model(self, fn, args)
            if out is not None:
                return out
        return _Opaque(f"{fn.module}.{fn.name}")

    def _nested(self, raw: object) -> object:
        what = "torch.storage._load_from_bytes"
        if not isinstance(raw, (bytes, bytearray)):
            self._flag(f"{what}(<data that is not literal bytes>)")
            return _Opaque(what)
        if self.depth + 1 > MAX_NESTING:
            self._flag(f"{what}(<pickles nested more than {MAX_NESTING} deep>)")
            return _Opaque(what)
        inner = PickleScan(f"{self.path} (embedded pickle)", depth=self.depth + 1, budget=self.budget)
        try:
            if bytes(raw[:2]) == b"PK":
                _scan_zip_bytes(inner, bytes(raw))
            else:
                _scan_legacy(inner, bytes(raw))
        except (PumasError, _Short) as e:
            if isinstance(e, PumasError) and self.budget.exhausted:
                raise
            self._flag(f"{what}(<bytes that are not a readable pickle>)")
            return _Opaque(what)
        for g in inner.globals:
            if g not in self.globals:
                self.globals.append(g)
        for u in inner.unsafe:
            self._flag(u)
        return _Opaque(what)

    def _flag(self, what: str) -> None:
        if what not in self.unsafe:
            self.unsafe.append(what)


# ---------------------------------------------------------------------------------------------
# The opcodes: one handler per opcode byte, each ``(scan, data, pos after the opcode byte) -> pos
# after its argument``.  Argument decoding follows pickletools (its ``ArgumentDescriptor`` readers).

_Handler = Callable[[PickleScan, bytes, int], int]


def _take(data: bytes, pos: int, n: int) -> bytes:
    end = pos + n
    if end > len(data):
        raise _Short
    return data[pos:end]


def _line(data: bytes, pos: int) -> tuple[bytes, int]:
    """The bytes up to the next newline (not included) and the position after it."""
    end = data.find(b"\n", pos)
    if end < 0:
        raise _Short
    return data[pos:end], end + 1


def _stringnl(raw: bytes, *, stripquotes: bool) -> str:
    if stripquotes:
        for q in (b'"', b"'"):
            if raw.startswith(q):
                if not raw.endswith(q) or len(raw) < 2:
                    raise ValueError(f"string quote {q!r} not found at both ends of {raw[:40]!r}")
                raw = raw[1:-1]
                break
        else:
            raise ValueError(f"no string quotes around {raw[:40]!r}")
    return str(codecs.escape_decode(raw)[0].decode("ascii"))


def _decimal_short(raw: bytes) -> int | bool:
    if raw.endswith(b"L"):
        raise ValueError(f"trailing 'L' not allowed in {raw[:40]!r}")
    if raw == b"00":
        return False
    if raw == b"01":
        return True
    return int(raw)


def _push(value_at: Callable[[bytes, int], tuple[object, int]]) -> _Handler:
    """A handler for an opcode that only pushes its decoded argument."""
    def op(s: PickleScan, data: bytes, pos: int) -> int:
        v, pos = value_at(data, pos)
        s.stack.append(v)
        return pos
    return op


def _push_const(make: Callable[[], object]) -> _Handler:
    def op(s: PickleScan, data: bytes, pos: int) -> int:
        s.stack.append(make())
        return pos
    return op


def _op_binunicode(s: PickleScan, data: bytes, pos: int) -> int:
    n: int = _U4(data, pos)[0]
    end = pos + 4 + n
    if end > len(data):
        raise _Short
    s.stack.append(str(data[pos + 4:end], "utf-8", "surrogatepass"))
    return end


def _op_short_binunicode(s: PickleScan, data: bytes, pos: int) -> int:
    end = pos + 1 + data[pos]
    if end > len(data):
        raise _Short
    s.stack.append(str(data[pos + 1:end], "utf-8", "surrogatepass"))
    return end


def _op_binint1(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(data[pos])
    return pos + 1


def _op_binint(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(_I4(data, pos)[0])
    return pos + 4


def _op_binint2(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(_U2(data, pos)[0])
    return pos + 2


def _op_newfalse(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(False)
    return pos


def _op_none(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(None)
    return pos






def _binunicode8(data: bytes, pos: int) -> tuple[object, int]:
    n = _U8(data, pos)[0]
    return str(_take(data, pos + 8, n), "utf-8", "surrogatepass"), pos + 8 + n


def _unicode(data: bytes, pos: int) -> tuple[object, int]:
    raw, pos = _line(data, pos)
    return str(raw, "raw-unicode-escape"), pos








def _int(data: bytes, pos: int) -> tuple[object, int]:
    raw, pos = _line(data, pos)
    return _decimal_short(raw), pos


def _long(data: bytes, pos: int) -> tuple[object, int]:
    raw, pos = _line(data, pos)
    return int(raw[:-1] if raw[-1:] == b"L" else raw), pos


def _long1(data: bytes, pos: int) -> tuple[object, int]:
    n = _U1(data, pos)[0]
    return int.from_bytes(_take(data, pos + 1, n), "little", signed=True), pos + 1 + n


def _long4(data: bytes, pos: int) -> tuple[object, int]:
    n = _I4(data, pos)[0]
    if n < 0:
        raise ValueError(f"long4 byte count < 0: {n}")
    return int.from_bytes(_take(data, pos + 4, n), "little", signed=True), pos + 4 + n


def _binfloat(data: bytes, pos: int) -> tuple[object, int]:
    return _F8(data, pos)[0], pos + 8


def _float(data: bytes, pos: int) -> tuple[object, int]:
    raw, pos = _line(data, pos)
    return float(raw), pos


def _binbytes(data: bytes, pos: int) -> tuple[object, int]:
    n = _U4(data, pos)[0]
    return _take(data, pos + 4, n), pos + 4 + n


def _short_binbytes(data: bytes, pos: int) -> tuple[object, int]:
    n = _U1(data, pos)[0]
    return _take(data, pos + 1, n), pos + 1 + n


def _binbytes8(data: bytes, pos: int) -> tuple[object, int]:
    n = _U8(data, pos)[0]
    return _take(data, pos + 8, n), pos + 8 + n


def _bytearray8(data: bytes, pos: int) -> tuple[object, int]:
    n = _U8(data, pos)[0]
    return bytearray(_take(data, pos + 8, n)), pos + 8 + n


def _binstring(data: bytes, pos: int) -> tuple[object, int]:
    n = _I4(data, pos)[0]
    if n < 0:
        raise ValueError(f"string4 byte count < 0: {n}")
    return _take(data, pos + 4, n).decode("latin-1"), pos + 4 + n


def _short_binstring(data: bytes, pos: int) -> tuple[object, int]:
    n = _U1(data, pos)[0]
    return _take(data, pos + 1, n).decode("latin-1"), pos + 1 + n


def _string(data: bytes, pos: int) -> tuple[object, int]:
    raw, pos = _line(data, pos)
    return _stringnl(raw, stripquotes=True), pos


def _op_mark(s: PickleScan, data: bytes, pos: int) -> int:
    """MARK; or, when the bytes are MARK, simple pushes, TUPLE, the whole tuple at once.

    Three quarters of a state dict's opcodes are such flat tuples (a storage's persistent id, a
    tensor's size and stride), so this superinstruction is where decoding them costs least.  It
    commits nothing (stack, memo, budget) unless it reaches the TUPLE; anything else in the run, or
    the end of the bytes, leaves it a plain MARK and the opcodes are interpreted one by one.
    """
    n = len(data)
    at = pos
    items: list[object] = []
    puts: dict[object, object] = {}
    gcache = s.gcache
    count = 0
    while at < n:
        op = data[at]
        count += 1
        if op == 0x4B and at + 1 < n:  # BININT1
            items.append(data[at + 1])
            at += 2
        elif op == 0x4D and at + 2 < n:  # BININT2
            items.append(data[at + 1] | data[at + 2] << 8)
            at += 3
        elif op == 0x58 and at + 5 <= n:  # BINUNICODE
            end = at + 5 + _U4(data, at + 1)[0]
            if end > n:
                break
            items.append(str(data[at + 5:end], "utf-8", "surrogatepass"))
            at = end
        elif op == 0x8C and at + 2 <= n:  # SHORT_BINUNICODE
            end = at + 2 + data[at + 1]
            if end > n:
                break
            items.append(str(data[at + 2:end], "utf-8", "surrogatepass"))
            at = end
        elif op == 0x4A and at + 5 <= n:  # BININT
            items.append(_I4(data, at + 1)[0])
            at += 5
        elif op == 0x71 and at + 1 < n:  # BINPUT
            puts[data[at + 1]] = items[-1] if items else _MARK
            at += 2
        elif op == 0x72 and at + 5 <= n:  # LONG_BINPUT
            puts[_U4(data, at + 1)[0]] = items[-1] if items else _MARK
            at += 5
        elif op == 0x68 and at + 1 < n:  # BINGET
            k = data[at + 1]
            items.append(puts[k] if k in puts else s.memo.get(k))
            at += 2
        elif op == 0x6A and at + 5 <= n:  # LONG_BINGET
            k = _U4(data, at + 1)[0]
            items.append(puts[k] if k in puts else s.memo.get(k))
            at += 5
        elif op == 0x63:  # GLOBAL, when this scan has decoded the same one before
            end = data.find(b"\n", data.find(b"\n", at + 1) + 1)
            g = gcache.get(data[at + 1:end]) if end > at else None
            if g is None:
                break
            items.append(g)
            at = end + 1
        elif op == 0x74 and items:  # TUPLE
            s.stack.append(tuple(items))
            s.memo.update(puts)
            s.budget.ops += count  # the opcodes after MARK, TUPLE included
            return at + 1
        else:
            break
    s.stack.append(_MARK)
    return pos


def _op_stop(s: PickleScan, data: bytes, pos: int) -> int:
    s.done = True
    return pos


def _op_proto(s: PickleScan, data: bytes, pos: int) -> int:
    _U1(data, pos)
    return pos + 1


def _op_frame(s: PickleScan, data: bytes, pos: int) -> int:
    _U8(data, pos)
    return pos + 8


def _op_binput(s: PickleScan, data: bytes, pos: int) -> int:
    s.memo[data[pos]] = s.stack[-1]
    return pos + 1


def _op_long_binput(s: PickleScan, data: bytes, pos: int) -> int:
    s.memo[_U4(data, pos)[0]] = s.stack[-1]
    return pos + 4


def _op_put(s: PickleScan, data: bytes, pos: int) -> int:
    raw, pos = _line(data, pos)
    s.memo[_decimal_short(raw)] = s.stack[-1]
    return pos


def _op_memoize(s: PickleScan, data: bytes, pos: int) -> int:
    s.memo[len(s.memo)] = s.stack[-1]
    return pos


def _op_binget(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(s.memo.get(data[pos]))
    return pos + 1


def _op_long_binget(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(s.memo.get(_U4(data, pos)[0]))
    return pos + 4


def _op_get(s: PickleScan, data: bytes, pos: int) -> int:
    raw, pos = _line(data, pos)
    s.stack.append(s.memo.get(_decimal_short(raw)))
    return pos


def _global_pair(data: bytes, pos: int) -> tuple[str, str, int]:
    mod, pos = _line(data, pos)
    name, pos = _line(data, pos)
    return _stringnl(mod, stripquotes=False), _stringnl(name, stripquotes=False), pos


def _op_global(s: PickleScan, data: bytes, pos: int) -> int:
    # the same few globals come once per tensor: decoded once per scan, keyed by their raw lines
    end = data.find(b"\n", data.find(b"\n", pos) + 1)
    g = s.gcache.get(data[pos:end]) if end > pos else None
    if g is None:
        gmod, gname, after = _global_pair(data, pos)
        # pickletools joins the pair as "module name" and we split it at the first space again
        gmod, _, rest = f"{gmod} {gname}".partition(" ")
        s.name_global(gmod, rest)
        g = s.gcache[data[pos:after - 1]] = _G(gmod, rest)
        end = after - 1
    s.stack.append(g)
    return end + 1


def _op_inst(s: PickleScan, data: bytes, pos: int) -> int:
    # INST both names a class and calls it with the MARKed args
    gmod, gname, pos = _global_pair(data, pos)
    gmod, _, rest = f"{gmod} {gname}".partition(" ")
    full = s.name_global(gmod, rest)
    s.pop_mark()
    s.stack.append(_Opaque(full))
    return pos


def _op_stack_global(s: PickleScan, data: bytes, pos: int) -> int:
    gname = str(s.stack.pop())
    gmod = str(s.stack.pop())
    s.name_global(gmod, gname)
    s.stack.append(_G(gmod, gname))
    return pos


def _op_dict(s: PickleScan, data: bytes, pos: int) -> int:
    items = s.pop_mark()
    s.stack.append({_hashable(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)})
    return pos


def _op_list(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(s.pop_mark())
    return pos


def _op_tuple(s: PickleScan, data: bytes, pos: int) -> int:
    stack = s.stack
    i = _mark_at(stack)
    t = tuple(stack[i + 1:])
    del stack[i:]
    stack.append(t)
    return pos


def _op_tuple1(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack[-1:] = [(s.stack[-1],)]
    return pos


def _op_tuple2(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack[-2:] = [tuple(s.stack[-2:])]
    return pos


def _op_tuple3(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack[-3:] = [tuple(s.stack[-3:])]
    return pos


def _op_frozenset(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(frozenset(_hashable(x) for x in s.pop_mark()))
    return pos


def _op_setitem(s: PickleScan, data: bytes, pos: int) -> int:
    stack = s.stack
    v = stack.pop()
    k = stack.pop()
    d = stack[-1]
    if isinstance(d, dict):
        d[_hashable(k)] = v
    return pos


def _op_setitems(s: PickleScan, data: bytes, pos: int) -> int:
    items = s.pop_mark()
    d = s.stack[-1]
    if isinstance(d, dict):
        for i in range(0, len(items) - 1, 2):
            d[_hashable(items[i])] = items[i + 1]
    return pos


def _op_append(s: PickleScan, data: bytes, pos: int) -> int:
    v = s.stack.pop()
    top = s.stack[-1]
    if isinstance(top, list):
        top.append(v)
    return pos


def _op_appends(s: PickleScan, data: bytes, pos: int) -> int:
    items = s.pop_mark()
    top = s.stack[-1]
    if isinstance(top, list):
        top.extend(items)
    return pos


def _op_additems(s: PickleScan, data: bytes, pos: int) -> int:
    s.pop_mark()
    return pos


def _op_binpersid(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append((_PERSID, s.stack.pop()))
    return pos


def _op_persid(s: PickleScan, data: bytes, pos: int) -> int:
    raw, pos = _line(data, pos)
    s.stack.append((_PERSID, _stringnl(raw, stripquotes=False)))
    return pos


def _op_reduce(s: PickleScan, data: bytes, pos: int) -> int:
    args = s.stack.pop()
    fn = s.stack.pop()
    s.stack.append(s.call(fn, args))
    return pos


def _op_newobj(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.pop()  # args
    cls = s.stack.pop()
    s.stack.append(_Opaque(f"{cls.module}.{cls.name}" if isinstance(cls, _G) else "object"))
    return pos


def _op_newobj_ex(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.pop()  # kwargs
    return _op_newobj(s, data, pos)


def _op_obj(s: PickleScan, data: bytes, pos: int) -> int:
    items = s.pop_mark()
    cls = items[0] if items else None
    s.stack.append(_Opaque(f"{cls.module}.{cls.name}" if isinstance(cls, _G) else "object"))
    return pos


def _op_build(s: PickleScan, data: bytes, pos: int) -> int:
    state = s.stack.pop()
    obj = s.stack[-1]
    if isinstance(obj, dict) and isinstance(state, dict):
        obj.update(state)
    return pos


def _op_pop(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.pop()
    return pos


def _op_pop_mark(s: PickleScan, data: bytes, pos: int) -> int:
    s.pop_mark()
    return pos


def _op_dup(s: PickleScan, data: bytes, pos: int) -> int:
    s.stack.append(s.stack[-1])
    return pos


def _ext(width: Callable[[bytes, int], tuple[int, ...]], n: int) -> _Handler:
    def op(s: PickleScan, data: bytes, pos: int) -> int:
        code = width(data, pos)[0]
        s.stack.append(_Opaque("extension"))
        s.unsafe.append(f"<extension code {code}>")
        return pos + n
    return op


def _unknown(s: PickleScan, data: bytes, pos: int) -> int:
    raise ValueError(f"at position {pos - 1}, opcode {bytes([data[pos - 1]])!r} unknown")


_BY_NAME: dict[bytes, _Handler] = {
    # values
    b"X": _op_binunicode, b"\x8c": _op_short_binunicode, b"\x8d": _push(_binunicode8), b"V": _push(_unicode),
    b"J": _op_binint, b"K": _op_binint1, b"M": _op_binint2, b"I": _push(_int),
    b"L": _push(_long), b"\x8a": _push(_long1), b"\x8b": _push(_long4), b"G": _push(_binfloat), b"F": _push(_float),
    b"B": _push(_binbytes), b"C": _push(_short_binbytes), b"\x8e": _push(_binbytes8), b"\x96": _push(_bytearray8),
    b"T": _push(_binstring), b"U": _push(_short_binstring), b"S": _push(_string),
    b"N": _op_none, b"\x88": _push_const(lambda: True), b"\x89": _op_newfalse,
    # out-of-band buffers: pickletools gives them no argument, and they stand for data we never read
    b"\x97": _push_const(lambda: None), b"\x98": _push_const(lambda: None),
    # containers
    b"}": _push_const(dict), b"]": _push_const(list), b")": _push_const(tuple), b"\x8f": _push_const(set),
    b"d": _op_dict, b"l": _op_list, b"t": _op_tuple, b"\x85": _op_tuple1, b"\x86": _op_tuple2, b"\x87": _op_tuple3,
    b"\x91": _op_frozenset, b"s": _op_setitem, b"u": _op_setitems, b"a": _op_append, b"e": _op_appends,
    b"\x90": _op_additems,
    # stack and memo
    b"(": _op_mark, b"0": _op_pop, b"1": _op_pop_mark, b"2": _op_dup,
    b"q": _op_binput, b"r": _op_long_binput, b"p": _op_put, b"\x94": _op_memoize,
    b"h": _op_binget, b"j": _op_long_binget, b"g": _op_get,
    # names and calls: nothing is resolved, calls are modelled (``PickleScan.call``) or opaque
    b"c": _op_global, b"\x93": _op_stack_global, b"i": _op_inst, b"R": _op_reduce, b"\x81": _op_newobj,
    b"\x92": _op_newobj_ex, b"o": _op_obj, b"b": _op_build, b"Q": _op_binpersid, b"P": _op_persid,
    b"\x82": _ext(_U1, 1), b"\x83": _ext(_U2, 2), b"\x84": _ext(_I4, 4),
    # framing
    b"\x80": _op_proto, b"\x95": _op_frame, b".": _op_stop,
}
_OPS: list[_Handler] = [_unknown] * 256
for _code, _handler in _BY_NAME.items():
    _OPS[_code[0]] = _handler
del _code, _handler


# ---------------------------------------------------------------------------------------------
# Calls we model: (module, name) -> what a REDUCE of it builds.  None from a model means the
# arguments are not the expected ones, and the call stays opaque.

_Model = Callable[[PickleScan, _G, object], object]


def _rebuild_tensor(s: PickleScan, fn: _G, args: object) -> object:
    if not isinstance(args, tuple) or len(args) < 3:
        return None
    storage, size = args[0], args[2]
    dtype = _storage_dtype(storage)
    if fn.name == "_rebuild_tensor_v3" and len(args) >= 7 and isinstance(args[6], _G):
        dtype = TORCH_DTYPE.get(args[6].name, dtype)
    shape = list(size) if isinstance(size, (tuple, list)) else []
    if not all(isinstance(d, int) for d in shape):
        raise PumasError(f"{s.path}: corrupt pickle (tensor size is not a tuple of ints)")
    return _Tensor(dtype, shape)


def _rebuild_parameter(s: PickleScan, fn: _G, args: object) -> object:
    return args[0] if isinstance(args, tuple) and args else None


def _rebuild_from_type(s: PickleScan, fn: _G, args: object) -> object:
    if not isinstance(args, tuple) or len(args) < 3:
        return None
    return s.call(args[0], args[2])


def _load_from_bytes(s: PickleScan, fn: _G, args: object) -> object:
    # torch.load() runs on these bytes: they are a pickle too, and get the same rules.
    return s._nested(args[0] if isinstance(args, tuple) and args else None)


def _empty_dict(s: PickleScan, fn: _G, args: object) -> object:
    return {}


_CALLS: dict[tuple[str, str], _Model] = {
    **{("torch._utils", n): _rebuild_tensor for n in REBUILD_TENSOR},
    **{("torch._utils", n): _rebuild_parameter for n in REBUILD_PARAM},
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("collections", "OrderedDict"): _empty_dict, ("collections", "defaultdict"): _empty_dict,
    ("builtins", "dict"): _empty_dict, ("__builtin__", "dict"): _empty_dict,
}


class _Budget:
    """Opcodes and time one file's scan may spend, nested pickles included."""

    def __init__(self) -> None:
        self.ops = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self.exhausted = False

    def check(self, path: str) -> None:
        if time.monotonic() > self.deadline:
            self.exhausted = True
            raise PumasError(f"{path}: pickle took more than {MAX_SECONDS:g} s to scan: refused")
        if self.ops > MAX_OPS:
            self.exhausted = True


def _truncated(path: str) -> PumasError:
    return PumasError(f"{path}: corrupt pickle (ValueError: pickle exhausted before seeing STOP)")


def _scan_zip_bytes(scan: PickleScan, raw: bytes) -> object:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            pkls = [i for i in z.infolist() if i.filename.endswith(".pkl")]
            if not pkls:
                raise PumasError(f"{scan.path}: zip without a pickle")
            obj: object = None
            for info in pkls:
                if info.file_size > MAX_PICKLE:
                    raise PumasError(f"{scan.path}: pickle of {info.file_size} bytes is too large")
                try:
                    obj, _ = scan.run(z.read(info))
                except _Short:
                    raise _truncated(scan.path) from None
            return obj
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise PumasError(f"{scan.path}: unreadable zip ({e.__class__.__name__})") from None


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _scan_legacy(scan: PickleScan, data: bytes) -> object:
    """torch's legacy format: magic number (a big int), protocol version, sys info dict, object.
    Raises _Short when ``data`` ends before the object pickle does."""
    first, pos = scan.run(data)
    if isinstance(first, int) and first == LEGACY_MAGIC:
        _, pos = scan.run(data, pos)  # protocol version
        _, pos = scan.run(data, pos)  # sys info
        obj, _ = scan.run(data, pos)
        return obj
    return first


def _hashable(k: object) -> object:
    try:
        hash(k)
        return k
    except TypeError:
        return repr(k)


def _storage_dtype(storage: object) -> str:
    # persistent id: ("storage", <torch.XStorage>, key, location, numel[, view metadata])
    if isinstance(storage, tuple) and len(storage) == 2 and storage[0] == _PERSID:
        pid = storage[1]
        if isinstance(pid, tuple) and len(pid) >= 2 and isinstance(pid[1], _G):
            g = pid[1]
            return STORAGE_DTYPE.get(g.name) or TORCH_DTYPE.get(g.name, "U8")
    return "F32"


def flatten(obj: object, prefix: str = "", out: dict[str, tuple[str, list[int]]] | None = None,
            depth: int = 0) -> dict[str, tuple[str, list[int]]]:
    """Nested dicts/lists of tensors -> {"a.b.c": (dtype, shape)}."""
    if out is None:
        out = {}
    if depth > 12:
        return out
    if isinstance(obj, _Tensor):
        out[prefix[:-1]] = (obj.dtype, obj.shape)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            flatten(v, f"{prefix}{k}.", out, depth + 1)
    elif isinstance(obj, (list, tuple)) and not (len(obj) == 2 and obj and obj[0] == _PERSID):
        for i, v in enumerate(obj):
            if isinstance(v, (_Tensor, dict, list)):
                flatten(v, f"{prefix}{i}.", out, depth + 1)
    return out


# ---------------------------------------------------------------------------------------------
# torch's zip format: the central directory names data.pkl; only it is read.

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOC = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory file header, name follows
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header, name and extra follow


def _zip_member(path: str) -> bytes | None:
    """The bytes of the zip's main pickle, found the way ``read_zip_pickle`` chooses it, read with
    two or three preads; None when the zip is anything but plain (ZIP64 sizes, compression, a
    comment hiding the directory, encryption...): ``zipfile`` then reads it, with its own errors."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size < _EOCD.size:
            return None
        tail = os.pread(fd, _EOCD.size, size - _EOCD.size)
        sig, disk, cd_disk, n_here, n_total, cd_size, cd_off, comment = _EOCD.unpack(tail)
        if sig != b"PK\x05\x06" or comment or disk or cd_disk or n_here != n_total:
            return None
        if cd_off == 0xFFFFFFFF or cd_size == 0xFFFFFFFF or n_total == 0xFFFF:
            if size < _EOCD.size + _EOCD64_LOC.size:
                return None
            loc = os.pread(fd, _EOCD64_LOC.size, size - _EOCD.size - _EOCD64_LOC.size)
            lsig, _, eocd64_off, _ = _EOCD64_LOC.unpack(loc)
            if lsig != b"PK\x06\x07":
                return None
            rec = os.pread(fd, _EOCD64.size, eocd64_off)
            if len(rec) != _EOCD64.size:
                return None
            sig64, _, _, _, _, _, _, n_total, cd_size, cd_off = _EOCD64.unpack(rec)
            if sig64 != b"PK\x06\x06":
                return None
            if cd_off + cd_size != eocd64_off:
                return None
        elif cd_off + cd_size != size - _EOCD.size:
            return None  # data before the zip (zipfile allows for it) or a damaged directory
        if cd_size > MAX_PICKLE:
            return None
        cd = os.pread(fd, cd_size, cd_off)
        if len(cd) != cd_size:
            return None
        # walk the directory: torch's zips hold one entry per tensor storage, so this is a loop
        # over a few hundred to a few thousand 46-byte records
        pkls: list[tuple[bytes, int, int, int, int, int, int]] = []  # (name, method, flags, crc, csize, usize, offset)
        p = 0
        unpack = _CENTRAL.unpack_from
        for _ in range(n_total):
            if p + _CENTRAL.size > cd_size:
                return None
            (sig, _, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _, off) = unpack(cd, p)
            if sig != b"PK\x01\x02":
                return None
            name_b = cd[p + _CENTRAL.size:p + _CENTRAL.size + nlen]
            p += _CENTRAL.size + nlen + xlen + clen
            if name_b.endswith(b".pkl"):
                pkls.append((name_b, method, flags, crc, csize, usize, off))
        names = [f for f in pkls if f[0].count(b"/") <= 1]
        main = [f for f in names if f[0].endswith(b"data.pkl")] or names
        if not main:
            return None
        name_b, method, flags, crc, csize, usize, off = main[0]
        if (method != 0 or flags & 0x61 or csize != usize or 0xFFFFFFFF in (off, csize, usize) or usize > MAX_PICKLE
                or b"\0" in name_b or (not flags & 0x800 and not name_b.isascii())):
            return None  # compressed, encrypted, ZIP64 sizes, names zipfile would rewrite: zipfile's turn
        head = os.pread(fd, _LOCAL.size + len(name_b), off)
        if len(head) != _LOCAL.size + len(name_b):
            return None
        lsig, _, _, _, _, _, _, _, _, lnlen, lxlen = _LOCAL.unpack_from(head)
        if lsig != b"PK\x03\x04" or lnlen != len(name_b) or head[_LOCAL.size:] != name_b:
            return None
        raw = os.pread(fd, usize, off + _LOCAL.size + lnlen + lxlen)
        if len(raw) != usize or zlib.crc32(raw) != crc:
            return None  # zipfile reads it again and reports what is wrong
        return raw
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)



def read_zip_pickle(path: str) -> tuple[TensorTable, list[str], list[str]]:
    """(tensors, all globals, unsafe globals) of a torch zip checkpoint."""
    raw = _zip_member(path)
    if raw is None:
        raw = _zip_member_by_zipfile(path)
    scan = PickleScan(path)
    try:
        obj, _ = scan.run(raw)
    except _Short:
        raise _truncated(path) from None
    return TensorTable(flatten(obj)), scan.globals, scan.unsafe


def _zip_member_by_zipfile(path: str) -> bytes:
    try:
        with zipfile.ZipFile(path) as z:
            names = [i for i in z.infolist() if i.filename.endswith(".pkl") and i.filename.count("/") <= 1]
            main = [i for i in names if i.filename.endswith("data.pkl")] or names
            if not main:
                raise PumasError(f"{path}: zip file without a pickle (data.pkl): not a torch checkpoint")
            info = main[0]
            if info.file_size > MAX_PICKLE:
                raise PumasError(f"{path}: pickle of {info.file_size} bytes is too large")
            return z.read(info)
    except zipfile.BadZipFile as e:
        raise PumasError(f"{path}: corrupt zip ({e})") from None
    except (OSError, EOFError, ValueError, NotImplementedError) as e:
        raise PumasError(f"{path}: unreadable zip ({e.__class__.__name__}: {e})") from None


def read_legacy_pickle(path: str) -> tuple[TensorTable, list[str], list[str]]:
    """Legacy torch.save stream (or any bare pickle): walk the pickles up to the object one.

    The pickles come first and the storages after them: read a prefix, and when the pickles run
    past it, read twice as far and scan again (a scan is pure: nothing carries over)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise PumasError(f"{path}: {e.strerror or e}") from None
    try:
        size = os.fstat(fd).st_size
        want = min(size, LEGACY_FIRST_READ)
        budget = _Budget()
        while True:
            data = os.pread(fd, want, 0)
            scan = PickleScan(path, budget=budget)
            budget.ops = 0
            try:
                obj = _scan_legacy(scan, data)
                break
            except _Short:
                if len(data) >= size or len(data) < want:
                    raise _truncated(path) from None
                want = min(size, 2 * want)
    except OSError as e:
        raise PumasError(f"{path}: {e.strerror or e}") from None
    finally:
        os.close(fd)
    return TensorTable(flatten(obj)), scan.globals, scan.unsafe
