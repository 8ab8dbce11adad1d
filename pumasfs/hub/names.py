"""Search terms from a file or folder name.

Hub repos are named for the model, files for the model *and* how it was cut:
``Llama-3.2-1B-Instruct-Q4_K_M.gguf`` lives in a repo called
``...Llama-3.2-1B-Instruct-GGUF``.  Stripping quantisation, precision,
pruning, shard and version tags (and the extension) leaves the part a repo
name shares.  Version tags are stripped in a second, broader term only,
because ``flux1-dev`` and ``flux1-schnell`` are different models while
``v1-5`` is rarely in a repo id the way it is in a file name.
"""

from __future__ import annotations

import re

EXTENSIONS = (
    ".safetensors", ".gguf", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".onnx", ".pkl", ".ggml", ".llamafile",
)
# A token is the text between separators; dots between digits stay (3.2, 1.5).
_SPLIT = re.compile(r"[\s_\-]+|\.(?!\d)|(?<!\d)\.")
_SHARD = re.compile(r"[-_.]?(?:\d{1,5}-of-\d{1,5}|part\d+of\d+)$", re.IGNORECASE)

_QUANT = re.compile(
    r"""^(?:
        i?q\d+(?:k|0|1)?(?:xxs|xs|s|m|l|nl)?   # Q4_K_M, Q8_0, IQ3_XS, IQ4_NL (separators removed first)
        | (?:mxfp|nvfp)\d+
        | [0-9.]+bits? | [0-9.]+bpw | bnb | awq | gptq | exl2 | hqq | nf4 | int[48] | w[48]a(?:8|16)
        | gguf | ggml
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Quant names that the splitter cut apart: "Q4", "K", "M" -> rejoin first.
_QUANT_JOINED = re.compile(
    r"(?<![A-Za-z0-9])(i?q\d(?:[_-]\d)?(?:[_-]k)?(?:[_-](?:xxs|xs|s|m|l|nl))?)(?![A-Za-z0-9])", re.IGNORECASE
)
_PRECISION = re.compile(
    r"^(?:fp|bf|f)(?:8|16|32|64)(?:e4m3fn(?:uz)?|e5m2(?:fnuz)?)?$|^e4m3fn(?:uz)?$|^e5m2(?:fnuz)?$|^(?:half|full|mixed|scaled)$",
    re.IGNORECASE,
)
_PRUNING = re.compile(r"^(?:pruned|ema|emaonly|noema|nonema|ema-only|fix(?:ed)?|ema_only)$", re.IGNORECASE)
_VERSION = re.compile(r"^v\d+(?:\.\d+)*[a-z]?$|^\d+(?:\.\d+)+$|^\d+$", re.IGNORECASE)


def strip_extension(name: str) -> str:
    low = name.lower()
    for ext in EXTENSIONS:
        if low.endswith(ext):
            return name[: -len(ext)]
    return name


def tokens(name: str) -> list[str]:
    """The name's words, with quantisation tags kept whole (Q4_K_M is one token)."""
    stem = _SHARD.sub("", strip_extension(name.rsplit("/", 1)[-1]))
    stem = _QUANT_JOINED.sub(lambda m: m.group(1).replace("-", "_").replace("_", ""), stem)
    return [t for t in _SPLIT.split(stem) if t]


def _is_tag(tok: str) -> bool:
    return bool(_QUANT.match(tok) or _PRECISION.match(tok) or _PRUNING.match(tok))


def core_tokens(name: str, *, drop_versions: bool = False) -> list[str]:
    out = [t for t in tokens(name) if not _is_tag(t)]
    if drop_versions:
        out = [t for t in out if not _VERSION.match(t)]
    return out


def search_terms(name: str) -> list[str]:
    """Queries for ``HfApi.list_models(search=...)``, most specific first (at most two)."""
    terms: list[str] = []
    for drop in (False, True):
        toks = core_tokens(name, drop_versions=drop)
        term = "-".join(toks)
        if len(term) >= 3 and term not in terms:
            terms.append(term)
    return terms


def comparable(name: str) -> str:
    """Lowercase words for fuzzy comparison: tags and format words removed."""
    return " ".join(t.lower() for t in core_tokens(name))


def shard_base(name: str) -> str | None:
    """``model-00001-of-00003.safetensors`` -> ``model.safetensors``; None when not a shard."""
    base = name.rsplit("/", 1)[-1]
    stem = strip_extension(base)
    if not _SHARD.search(stem):
        return None
    return _SHARD.sub("", stem) + base[len(stem):]
