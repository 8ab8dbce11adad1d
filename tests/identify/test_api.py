"""The contract other code relies on: helpers, shard sets, name hints, folders, GGUF, pickles."""

from __future__ import annotations

import math

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.identify import SHARD_RE, Identification, identify_path, is_weights_file, shard_set_of
from pumasfs.identify.pickle import read_zip_pickle
from pumasfs.sample.samples import write_gguf, write_safetensors
from tests.corpus.samples import Tensor, layout, write_sample, write_torch_zip


def test_is_weights_file():
    for n in ("a.safetensors", "b.SFT", "c.ckpt", "d.pt", "e.pt2", "f.pth", "g.bin", "h.gguf", "i.onnx"):
        assert is_weights_file(n)
    for n in ("a.json", "b.yaml", "c.txt", "safetensors"):
        assert not is_weights_file(n)


def test_shard_re_and_sets(tmp_path):
    m = SHARD_RE.match("diffusion_pytorch_model-00002-of-00003.fp16.safetensors")
    assert m and m["index"] == "00002" and m["total"] == "00003" and m["suffix"] == ".fp16.safetensors"
    assert shard_set_of(tmp_path / "model.safetensors") is None
    for i in (1, 2, 3):
        write_safetensors(tmp_path / f"model-0000{i}-of-00003.safetensors", {f"w{i}": ("F16", [2, 2])})
    members = shard_set_of(tmp_path / "model-00002-of-00003.safetensors")
    assert [p.name for p in members] == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    (tmp_path / "model-00003-of-00003.safetensors").unlink()
    with pytest.raises(PumasError, match="missing model-00003-of-00003.safetensors"):
        shard_set_of(tmp_path / "model-00001-of-00003.safetensors")
    rec = identify_path(tmp_path / "model-00001-of-00003.safetensors")
    assert rec.format == "sharded-set" and any("incomplete" in w for w in rec.warnings)


def test_shard_set_identified_as_one_model(tmp_path):
    lay = layout("flux-dev")
    ts = lay["tensors"]
    half = len(ts) // 2
    for i, part in enumerate((ts[:half], ts[half:]), 1):
        write_safetensors(tmp_path / f"flux-0000{i}-of-00002.safetensors", {k: (d, s) for k, d, s in part}, sparse=True)
    rec = identify_path(tmp_path / "flux-00002-of-00002.safetensors")
    assert (rec.format, rec.subtype, rec.family, rec.variant) == ("sharded-set", "diffusion_models", "flux", "dev")
    assert rec.param_count == sum(math.prod(s) for _, _, s in ts)
    assert rec.files == ["flux-00001-of-00002.safetensors", "flux-00002-of-00002.safetensors"]
    assert rec.size_bytes == sum(p.stat().st_size for p in tmp_path.iterdir())


def test_name_hint_decides_only_what_the_header_cannot(tmp_path):
    lay = layout("sdxl-vae-noname")
    p = write_sample(lay, tmp_path, name="tmp123.safetensors")
    plain = identify_path(p)
    assert plain.family == "sd1" and plain.confidence <= 0.5 and plain.warnings
    hinted = identify_path(p, name_hint="sdxl_vae.safetensors")
    assert hinted.family == "sdxl" and any("file name" in e for e in hinted.evidence)
    # a hint never overrides what the header decides
    lay = layout("sd1-checkpoint")
    p = write_sample(lay, tmp_path / "x", name="tmp.safetensors")
    assert identify_path(p, name_hint="sdxl_model.safetensors").family == "sd1"


def test_format_sniffed_not_by_extension(tmp_path):
    p = write_safetensors(tmp_path / "model.ckpt", {"emb_params": ("F32", [2, 768])})
    rec = identify_path(p)
    assert rec.format == "safetensors" and not rec.unsafe_format
    q = tmp_path / "model.safetensors"
    write_torch_zip(q, {"emb_params": Tensor("F32", [2, 768])})
    assert identify_path(q).format == "zip-pickle"


def test_pickle_shapes_dtypes_and_wrappers(tmp_path):
    p = tmp_path / "m.pth"
    write_torch_zip(p, {"params_ema": {"conv_first.weight": Tensor("F16", [64, 3, 3, 3]), "x": Tensor("F8_E4M3", [5])},
                        "epoch": 3, "name": "x"})
    table, globs, unsafe = read_zip_pickle(str(p))
    assert table.t == {"params_ema.conv_first.weight": ("F16", [64, 3, 3, 3]), "params_ema.x": ("F8_E4M3", [5])}
    assert unsafe == [] and "torch._utils._rebuild_tensor_v2" in globs


def test_real_torch_save_pickles(corpus):
    # pickles torch.save really wrote (zip and legacy), stored by the generator
    for lid in ("sd1-embedding-pt", "sd1-embedding-pt-legacy", "esrgan-torchsave", "esrgan-torchsave-legacy",
                "sd1-hypernetwork"):
        lay, path = corpus[lid]
        rec = identify_path(path)
        assert rec.unsafe_format and not rec.unsafe_globals, lid
        assert rec.subtype == lay["expect"]["subtype"], lid
    rec = identify_path(corpus["sd1-embedding-pt"][1])
    assert rec.param_count == 2 * 768 and rec.family == "sd1"


def test_gguf_llm_and_non_llm(corpus):
    rec = identify_path(corpus["gguf-qwen2.5-0.5b-instruct-q8_0"][1])
    assert (rec.model_type, rec.subtype, rec.family, rec.precision) == ("llm", None, "qwen2", "Q8_0")
    rec = identify_path(corpus["gguf-flux-dev-Q4_K_S"][1])
    assert (rec.subtype, rec.family, rec.variant) == ("diffusion_models", "flux", "dev")
    rec = identify_path(corpus["gguf-t5xxl-Q5_K_M"][1])
    assert (rec.subtype, rec.family, rec.variant) == ("text_encoders", "t5", "xxl")


def test_gguf_big_vocab_is_skipped_not_decoded(tmp_path):
    p = write_gguf(tmp_path / "v.gguf", "qwen2", {"general.file_type": 7}, [("token_embd.weight", "Q8_0", [151936, 896])],
                   sparse=True, vocab=151936)
    rec = identify_path(p)
    assert rec.family == "qwen2" and rec.param_count == 151936 * 896


def test_folders(corpus):
    rec = identify_path(corpus["folder-diffusers-flux"][1])
    assert (rec.format, rec.subtype, rec.family, rec.variant) == ("diffusers-folder", "diffusers", "flux", "dev")
    assert "transformer/diffusion_pytorch_model-00001-of-00003.safetensors" in rec.files
    rec = identify_path(corpus["folder-transformers-llama"][1])
    assert (rec.format, rec.model_type, rec.subtype, rec.family) == ("transformers-folder", "llm", None, "llama")
    assert rec.param_count == 1_100_048_384  # TinyLlama-1.1B, exact
    rec = identify_path(corpus["folder-peft-sdxl"][1])
    assert (rec.format, rec.subtype, rec.family) == ("peft-folder", "loras", "sdxl")


def test_identification_record_fields():
    fields = set(Identification.model_fields)
    assert fields == {"path", "format", "model_type", "subtype", "family", "variant", "precision", "param_count",
                      "confidence", "evidence", "unsafe_format", "unsafe_globals", "warnings", "files", "size_bytes",
                      "size", "releases"}
