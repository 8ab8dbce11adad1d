"""Read tensor names and shapes out of a pickled checkpoint without executing it.

``torch.load`` / ``pickle.load`` run whatever the file names (a GLOBAL opcode can name
``os.system``). Instead we walk the opcode stream with ``pickletools.genops`` and interpret the
few opcodes that build dicts, lists, tuples and torch's tensor-rebuild calls on a symbolic stack.
Nothing is imported or called. Every GLOBAL that is not a known tensor-rebuild or container
function is reported as unsafe (as picklescan does), and the model is marked unsafe.

Both torch formats: the zip one (``archive/data.pkl`` inside a zip; only the central directory
and that member are read) and the legacy one (magic number, protocol, sys info, then the object
pickle, then the raw storages, which we never reach).
"""

from __future__ import annotations

import io
import pickletools
import time
import zipfile

from ..errors import PumasError
from .tensors import TensorTable

MAX_PICKLE = 256 * 1024 * 1024  # data.pkl of the largest real checkpoints is a few MB
# A state dict takes ~20 opcodes per tensor: 2 million is 100,000 tensors, far past the largest real
# checkpoint.  The time bound catches what is slow per opcode (huge strings, deep memo use).
MAX_OPS = 2_000_000
MAX_SECONDS = 10.0
MAX_NESTING = 3  # pickles inside pickles (torch.storage._load_from_bytes) scanned this deep, no deeper

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
    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name


class _Tensor:
    __slots__ = ("dtype", "shape")

    def __init__(self, dtype: str, shape: list[int]):
        self.dtype, self.shape = dtype, shape


class _Opaque:  # the result of calling something we do not model
    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what


_MARK = object()

# opcodes that only push their decoded argument
_PUSH_ARG = frozenset({"BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "UNICODE", "BININT", "BININT1", "BININT2",
                       "INT", "LONG", "LONG1", "LONG4", "BINFLOAT", "FLOAT", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
                       "BINSTRING", "SHORT_BINSTRING", "STRING", "BYTEARRAY8"})


class PickleScan:
    """Symbolic interpretation of one pickle stream."""

    def __init__(self, path: str, *, depth: int = 0, budget: _Budget | None = None):
        self.path = path
        self.globals: list[str] = []
        self.unsafe: list[str] = []
        self.depth = depth  # 0 for the file's own pickle, 1 for one embedded in it, ...
        self.budget = budget or _Budget()  # shared with nested scans: the bound is for the whole file

    def run(self, stream: io.BufferedIOBase) -> object:
        stack: list = []
        memo: dict = {}
        path = self.path
        budget = self.budget
        try:
            for op, arg, _pos in pickletools.genops(stream):
                name = op.name
                budget.ops += 1
                if budget.ops & 0xFFFF == 0:
                    budget.check(path)
                if budget.ops > MAX_OPS:
                    raise PumasError(f"{path}: pickle stream of more than {MAX_OPS:,} opcodes: refused")
                # the common opcodes of a state dict first (the chain below is long)
                if name in _PUSH_ARG:
                    stack.append(arg)
                    continue
                if name == "BINPUT" or name == "LONG_BINPUT":
                    memo[arg] = stack[-1]
                    continue
                if name == "BINGET" or name == "LONG_BINGET":
                    stack.append(memo.get(arg))
                    continue
                if name == "MARK":
                    stack.append(_MARK)
                    continue
                if name in ("PROTO", "FRAME"):
                    continue
                if name == "STOP":
                    return stack[-1] if stack else None
                if name in ("GLOBAL", "STACK_GLOBAL", "INST"):
                    if name == "STACK_GLOBAL":
                        gname = stack.pop()
                        gmod = stack.pop()
                    else:
                        gmod, _, gname = arg.partition(" ")
                    gmod, gname = str(gmod), str(gname)
                    full = f"{gmod}.{gname}"
                    if full not in self.globals:
                        self.globals.append(full)
                        if not is_safe_global(gmod, gname):
                            self.unsafe.append(full)
                    if name == "INST":  # INST both names a class and calls it with the MARKed args
                        self._pop_mark(stack)
                        stack.append(_Opaque(full))
                    else:
                        stack.append(_G(gmod, gname))
                elif name == "MARK":
                    stack.append(_MARK)
                elif name in ("EMPTY_DICT",):
                    stack.append({})
                elif name in ("EMPTY_LIST",):
                    stack.append([])
                elif name == "EMPTY_TUPLE":
                    stack.append(())
                elif name == "EMPTY_SET":
                    stack.append(set())
                elif name in ("DICT",):
                    items = self._pop_mark(stack)
                    stack.append({_hashable(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)})
                elif name in ("LIST",):
                    stack.append(self._pop_mark(stack))
                elif name in ("TUPLE",):
                    stack.append(tuple(self._pop_mark(stack)))
                elif name == "TUPLE1":
                    stack[-1:] = [(stack[-1],)]
                elif name == "TUPLE2":
                    stack[-2:] = [tuple(stack[-2:])]
                elif name == "TUPLE3":
                    stack[-3:] = [tuple(stack[-3:])]
                elif name == "FROZENSET":
                    stack.append(frozenset(_hashable(x) for x in self._pop_mark(stack)))
                elif name == "SETITEM":
                    v = stack.pop()
                    k = stack.pop()
                    d = stack[-1]
                    if isinstance(d, dict):
                        d[_hashable(k)] = v
                elif name == "SETITEMS":
                    items = self._pop_mark(stack)
                    d = stack[-1]
                    if isinstance(d, dict):
                        for i in range(0, len(items) - 1, 2):
                            d[_hashable(items[i])] = items[i + 1]
                elif name == "APPEND":
                    v = stack.pop()
                    if isinstance(stack[-1], list):
                        stack[-1].append(v)
                elif name == "APPENDS":
                    items = self._pop_mark(stack)
                    if isinstance(stack[-1], list):
                        stack[-1].extend(items)
                elif name == "ADDITEMS":
                    self._pop_mark(stack)
                elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                    memo[arg] = stack[-1]
                elif name == "MEMOIZE":
                    memo[len(memo)] = stack[-1]
                elif name in ("GET", "BINGET", "LONG_BINGET"):
                    stack.append(memo.get(arg))
                elif name in ("BINPERSID",):
                    stack.append(("__persid__", stack.pop()))
                elif name == "PERSID":
                    stack.append(("__persid__", arg))
                elif name == "REDUCE":
                    args = stack.pop()
                    fn = stack.pop()
                    stack.append(self._call(fn, args))
                elif name in ("NEWOBJ", "NEWOBJ_EX"):
                    if name == "NEWOBJ_EX":
                        stack.pop()
                    args = stack.pop()
                    cls = stack.pop()
                    stack.append(_Opaque(f"{cls.module}.{cls.name}" if isinstance(cls, _G) else "object"))
                elif name == "OBJ":
                    items = self._pop_mark(stack)
                    cls = items[0] if items else None
                    stack.append(_Opaque(f"{cls.module}.{cls.name}" if isinstance(cls, _G) else "object"))
                elif name == "BUILD":
                    state = stack.pop()
                    obj = stack[-1]
                    if isinstance(obj, dict) and isinstance(state, dict):
                        obj.update(state)
                elif name == "POP":
                    stack.pop()
                elif name == "POP_MARK":
                    self._pop_mark(stack)
                elif name == "DUP":
                    stack.append(stack[-1])
                elif name in ("NONE",):
                    stack.append(None)
                elif name in ("NEWTRUE",):
                    stack.append(True)
                elif name in ("NEWFALSE",):
                    stack.append(False)
                elif name.startswith("EXT"):
                    stack.append(_Opaque("extension"))
                    self.unsafe.append(f"<extension code {arg}>")
                else:
                    # every remaining opcode pushes its (already decoded) argument: ints, floats,
                    # strings, bytes
                    stack.append(arg)
        except PumasError:
            raise
        except (ValueError, IndexError, KeyError, TypeError, EOFError, AttributeError) as e:
            raise PumasError(f"{path}: corrupt pickle ({e.__class__.__name__}: {str(e)[:80]})") from None
        raise PumasError(f"{path}: truncated pickle (no STOP opcode)")

    @staticmethod
    def _pop_mark(stack: list) -> list:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is _MARK:
                items = stack[i + 1:]
                del stack[i:]
                return items
        raise ValueError("MARK not found")

    def _call(self, fn, args):
        if not isinstance(fn, _G):
            return _Opaque("call")
        if fn.module == "torch._utils" and fn.name in REBUILD_TENSOR and isinstance(args, tuple) and len(args) >= 3:
            storage, size = args[0], args[2]
            dtype = _storage_dtype(storage)
            if fn.name == "_rebuild_tensor_v3" and len(args) >= 7 and isinstance(args[6], _G):
                dtype = TORCH_DTYPE.get(args[6].name, dtype)
            shape = list(size) if isinstance(size, (tuple, list)) else []
            if not all(isinstance(d, int) for d in shape):
                raise PumasError(f"{self.path}: corrupt pickle (tensor size is not a tuple of ints)")
            return _Tensor(dtype, shape)
        if fn.module == "torch._utils" and fn.name in REBUILD_PARAM and isinstance(args, tuple) and args:
            return args[0]
        if fn.module == "torch._tensor" and fn.name == "_rebuild_from_type_v2" and isinstance(args, tuple) and len(args) >= 3:
            inner, inner_args = args[0], args[2]
            return self._call(inner, inner_args)
        if fn.module == "torch.storage" and fn.name == "_load_from_bytes":
            # torch.load() runs on these bytes: they are a pickle too, and get the same rules.
            return self._nested(args[0] if isinstance(args, tuple) and args else None)
        if fn.module == "collections" and fn.name in ("OrderedDict", "defaultdict"):
            return {}
        if fn.module in ("builtins", "__builtin__") and fn.name in ("dict",):
            return {}
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
                _scan_legacy(inner, io.BytesIO(bytes(raw)))
        except PumasError:
            if self.budget.exhausted:
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


def _scan_zip_bytes(scan: PickleScan, raw: bytes) -> object:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            pkls = [i for i in z.infolist() if i.filename.endswith(".pkl")]
            if not pkls:
                raise PumasError(f"{scan.path}: zip without a pickle")
            obj = None
            for info in pkls:
                if info.file_size > MAX_PICKLE:
                    raise PumasError(f"{scan.path}: pickle of {info.file_size} bytes is too large")
                obj = scan.run(io.BytesIO(z.read(info)))
            return obj
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise PumasError(f"{scan.path}: unreadable zip ({e.__class__.__name__})") from None


def _scan_legacy(scan: PickleScan, stream: io.BufferedIOBase) -> object:
    first = scan.run(stream)
    # torch's legacy format: magic number (a big int), protocol version, sys info dict, object
    if isinstance(first, int) and first == 0x1950A86A20F9469CFC6C:
        scan.run(stream)  # protocol version
        scan.run(stream)  # sys info
        return scan.run(stream)
    return first


def _hashable(k):
    try:
        hash(k)
        return k
    except TypeError:
        return repr(k)


def _storage_dtype(storage) -> str:
    # persistent id: ("storage", <torch.XStorage>, key, location, numel[, view metadata])
    if isinstance(storage, tuple) and len(storage) == 2 and storage[0] == "__persid__":
        pid = storage[1]
        if isinstance(pid, tuple) and len(pid) >= 2 and isinstance(pid[1], _G):
            g = pid[1]
            return STORAGE_DTYPE.get(g.name) or TORCH_DTYPE.get(g.name, "U8")
    return "F32"


def flatten(obj, prefix: str = "", out: dict | None = None, depth: int = 0) -> dict[str, tuple[str, list[int]]]:
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
    elif isinstance(obj, (list, tuple)) and not (len(obj) == 2 and obj and obj[0] == "__persid__"):
        for i, v in enumerate(obj):
            if isinstance(v, (_Tensor, dict, list)):
                flatten(v, f"{prefix}{i}.", out, depth + 1)
    return out


def read_zip_pickle(path: str) -> tuple[TensorTable, list[str], list[str]]:
    """(tensors, all globals, unsafe globals) of a torch zip checkpoint."""
    try:
        with zipfile.ZipFile(path) as z:
            names = [i for i in z.infolist() if i.filename.endswith(".pkl") and i.filename.count("/") <= 1]
            main = [i for i in names if i.filename.endswith("data.pkl")] or names
            if not main:
                raise PumasError(f"{path}: zip file without a pickle (data.pkl): not a torch checkpoint")
            info = main[0]
            if info.file_size > MAX_PICKLE:
                raise PumasError(f"{path}: pickle of {info.file_size} bytes is too large")
            raw = z.read(info)
    except zipfile.BadZipFile as e:
        raise PumasError(f"{path}: corrupt zip ({e})") from None
    except (OSError, EOFError, ValueError, NotImplementedError) as e:
        raise PumasError(f"{path}: unreadable zip ({e.__class__.__name__}: {e})") from None
    scan = PickleScan(path)
    obj = scan.run(io.BytesIO(raw))
    return TensorTable(flatten(obj)), scan.globals, scan.unsafe


def read_legacy_pickle(path: str) -> tuple[TensorTable, list[str], list[str]]:
    """Legacy torch.save stream (or any bare pickle): walk the pickles up to the object one."""
    scan = PickleScan(path)
    with open(path, "rb") as f:
        obj = _scan_legacy(scan, f)
    return TensorTable(flatten(obj)), scan.globals, scan.unsafe
