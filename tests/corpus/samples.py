"""Write the stored corpus layouts (layouts.json.gz) as sample files, without torch.

``load_layouts()`` returns the records made by generate.py; ``write_sample(layout, dest_dir)``
writes one of them and returns its path:

- safetensors: real header, then ``truncate()`` to the real size (sparse: costs no disk);
- gguf: real GGUF metadata + tensor infos via gguf.GGUFWriter, then truncate;
- pickle-zip: a torch zip checkpoint whose data.pkl is emitted opcode by opcode exactly as
  ``torch.save`` writes it (tensor rebuild calls with storage persistent ids), storages empty;
- torch-zip / torch-legacy: the pickle bytes torch.save really produced, storages sparse/empty;
- folder: manifests + member files.

Other suites reuse this module; keep it free of torch and of the package under test.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import struct
import zipfile
from functools import lru_cache
from pathlib import Path

from pumasfs.sample.samples import DTYPE_SIZE, write_gguf, write_safetensors

HERE = Path(__file__).resolve().parent
LAYOUTS = HERE / "layouts.json.gz"

FLOAT_DTYPES = {"F32", "F16", "BF16"}


@lru_cache(maxsize=1)
def _data() -> dict:
    with gzip.open(LAYOUTS, "rt", encoding="utf-8") as f:
        return json.load(f)


def load_layouts() -> list[dict]:
    return _data()["layouts"]


def layout(id_: str) -> dict:
    for l in load_layouts():
        if l["id"] == id_:
            return l
    raise KeyError(id_)


def _cast(tensors: list, precision: str | None) -> list:
    if not precision:
        return tensors
    return [[k, precision if dt in FLOAT_DTYPES else dt, s] for k, dt, s in tensors]


def write_sample(layout: dict, dest_dir: Path, precision: str | None = None, name: str | None = None) -> Path:
    """Write one layout under ``dest_dir``; ``precision`` recasts float tensors (F16, BF16, F8_E4M3...)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    kind = layout["kind"]
    path = dest_dir / (name or layout["file"])
    if kind == "safetensors":
        t = {k: (dt, s) for k, dt, s in _cast(layout["tensors"], precision)}
        return write_safetensors(path, t, layout.get("metadata"), sparse=True)
    if kind == "gguf":
        kv = dict(layout["kv"])
        tensors = [(k, q, list(reversed(s))) for k, q, s in layout["tensors"]]
        return write_gguf(path, kv["general.architecture"], kv, tensors, sparse=True, vocab=layout.get("vocab", 0))
    if kind == "pickle-zip":
        obj = _nest(layout)
        write_torch_zip(path, obj)
        return path
    if kind == "torch-zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for member, spec in layout["members"].items():
                if "b64" in spec:
                    z.writestr(member, base64.b64decode(spec["b64"]))
                else:
                    z.writestr(member, b"" if spec["size"] > (1 << 20) else bytes(spec["size"]))
        return path
    if kind == "torch-legacy":
        raw = base64.b64decode(layout["pickle_b64"])
        with open(path, "wb") as f:
            f.write(raw)
            f.truncate(len(raw) + layout["storage_bytes"])
        return path
    if kind == "folder":
        path.mkdir(parents=True, exist_ok=True)
        for rel, spec in layout["members"].items():
            q = path / rel
            q.parent.mkdir(parents=True, exist_ok=True)
            if "json" in spec:
                q.write_text(json.dumps(spec["json"]))
            elif "text" in spec:
                q.write_text(spec["text"])
            else:
                t = {k: (dt, s) for k, dt, s in _cast(spec["tensors"], precision)}
                write_safetensors(q, t, sparse=True)
        return path
    raise ValueError(f"unknown layout kind {kind}")


# ---------------------------------------------------------------------------------------------
# torch zip checkpoints, emitted opcode by opcode (protocol 2, as torch.save writes them)

STORAGE = {"F32": "FloatStorage", "F16": "HalfStorage", "BF16": "BFloat16Storage", "F64": "DoubleStorage",
           "I64": "LongStorage", "I32": "IntStorage", "I16": "ShortStorage", "I8": "CharStorage", "U8": "ByteStorage",
           "BOOL": "BoolStorage", "F8_E4M3": "Float8_e4m3fnStorage", "F8_E5M2": "Float8_e5m2Storage"}


class Tensor:
    def __init__(self, dtype: str, shape: list[int]):
        self.dtype, self.shape = dtype, list(shape)


def _nest(layout: dict) -> dict:
    flat = {k: Tensor(dt, s) for k, dt, s in layout["tensors"]}
    split = layout.get("wrapper_split")
    if split:
        obj: dict = {}
        for k, v in flat.items():
            head, _, rest = k.partition(".")
            obj.setdefault(head, {})[rest] = v
    else:
        obj = flat
    if layout.get("wrapper"):
        obj = {layout["wrapper"]: obj}
        obj.update(layout.get("extras", {}))
    return obj


class _Emitter:
    def __init__(self):
        self.b = io.BytesIO()
        self.storages: list[tuple[str, int]] = []

    def w(self, x: bytes):
        self.b.write(x)

    def glob(self, module: str, name: str):
        self.w(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def int_(self, n: int):
        if 0 <= n < 256:
            self.w(b"K" + bytes([n]))
        elif 0 <= n < 65536:
            self.w(b"M" + struct.pack("<H", n))
        elif -(1 << 31) <= n < (1 << 31):
            self.w(b"J" + struct.pack("<i", n))
        else:
            raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
            self.w(b"\x8a" + bytes([len(raw)]) + raw)

    def str_(self, s: str):
        raw = s.encode()
        self.w(b"X" + struct.pack("<I", len(raw)) + raw)

    def obj(self, o):
        if isinstance(o, Tensor):
            self.tensor(o)
        elif isinstance(o, dict):
            self.glob("collections", "OrderedDict")
            self.w(b")R")  # OrderedDict()
            if o:
                self.w(b"(")
                for k, v in o.items():
                    self.obj(k)
                    self.obj(v)
                self.w(b"u")  # SETITEMS
        elif isinstance(o, bool):
            self.w(b"\x88" if o else b"\x89")
        elif isinstance(o, int):
            self.int_(o)
        elif isinstance(o, str):
            self.str_(o)
        elif o is None:
            self.w(b"N")
        else:
            raise TypeError(type(o))

    def tensor(self, t: Tensor):
        key = str(len(self.storages))
        numel = math.prod(t.shape)
        self.storages.append((key, numel * DTYPE_SIZE[t.dtype]))
        self.glob("torch._utils", "_rebuild_tensor_v2")
        self.w(b"(")  # args tuple
        self.w(b"(")  # persistent id tuple
        self.str_("storage")
        self.glob("torch", STORAGE[t.dtype])
        self.str_(key)
        self.str_("cpu")
        self.int_(numel)
        self.w(b"tQ")  # TUPLE, BINPERSID
        self.int_(0)  # storage offset
        self.w(b"(")
        for d in t.shape:
            self.int_(d)
        self.w(b"t(")
        stride = 1
        strides = []
        for d in reversed(t.shape):
            strides.append(stride)
            stride *= d
        for s in reversed(strides):
            self.int_(s)
        self.w(b"t\x89")  # TUPLE, requires_grad False
        self.glob("collections", "OrderedDict")
        self.w(b")R")  # backward hooks
        self.w(b"tR")  # TUPLE, REDUCE


def torch_zip_pickle(obj) -> tuple[bytes, list[tuple[str, int]]]:
    e = _Emitter()
    e.w(b"\x80\x02")
    e.obj(obj)
    e.w(b".")
    return e.b.getvalue(), e.storages


def write_torch_zip(path: Path, obj, archive: str = "archive") -> Path:
    pkl, storages = torch_zip_pickle(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{archive}/data.pkl", pkl)
        z.writestr(f"{archive}/byteorder", b"little")
        for key, nbytes in storages:
            # storages stay empty unless tiny: identification reads only the central directory and data.pkl
            z.writestr(f"{archive}/data/{key}", bytes(nbytes) if nbytes <= 4096 else b"")
        z.writestr(f"{archive}/version", b"3\n")
    return path
