"""Write small but real-looking model files: for the README demo and for tests.

Headers are real (exact key names; the decisive tensors at their real shapes), data is zeros,
and everything a rule does not need is left out, so the whole sample library is a few MB.
No torch, no diffusers: only the standard library (and ``gguf`` for the GGUF sample).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4,
              "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

Tensors = dict[str, tuple[str, list[int]]]
StrPath = os.PathLike[str] | str


def safetensors_header(tensors: Tensors, metadata: dict[str, object] | None = None) -> tuple[bytes, int]:
    """(8-byte length + JSON header padded to 8 bytes, size of the data section)."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    off = 0
    for name, (dtype, shape) in tensors.items():
        n = math.prod(shape) * DTYPE_SIZE[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header with spaces to 8-byte alignment
    return len(raw).to_bytes(8, "little") + raw, off


def write_safetensors(path: StrPath, tensors: Tensors, metadata: dict[str, object] | None = None,
                      sparse: bool = False) -> Path:
    """Write a safetensors file with a real header and zero data.

    ``sparse=True`` writes the header and then ``truncate()``s to the full size, so a 20 GB
    checkpoint costs a few KB of disk.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    head, data = safetensors_header(tensors, metadata)
    with open(p, "wb") as f:
        f.write(head)
        if sparse:
            f.truncate(len(head) + data)
        else:
            left = data
            zero = bytes(min(left, 1 << 20))
            while left:
                n = min(left, len(zero))
                f.write(zero[:n])
                left -= n
    return p


def write_gguf(path: StrPath, arch: str, kv: dict[str, object], tensors: list[tuple[str, str, list[int]]],
               sparse: bool = False, vocab: int = 0) -> Path:
    """A GGUF file from (name, GGML type name, torch-order shape) tensor infos; data are zeros."""
    import gguf
    import numpy as np

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(p), arch)
    for k, v in kv.items():
        if k == "general.architecture":
            continue
        if isinstance(v, bool):
            w.add_bool(k, v)
        elif isinstance(v, int):
            w.add_uint32(k, v)
        elif isinstance(v, float):
            w.add_float32(k, v)
        elif isinstance(v, str):
            w.add_string(k, v)
        elif isinstance(v, list):
            w.add_array(k, v)
    if vocab:
        w.add_token_list([f"tok{i}" for i in range(vocab)])
    total = 0
    for name, tname, shape in tensors:
        qt = gguf.GGMLQuantizationType[tname]
        block, tsize = gguf.GGML_QUANT_SIZES[qt]
        n = math.prod(shape)
        nbytes = n // block * tsize
        w.add_tensor_info(name, shape, np.dtype(np.float32), nbytes, raw_dtype=qt)
        total += nbytes + (-nbytes % 32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    with open(p, "r+b") as f:
        f.seek(0, 2)
        end = f.tell()
        start = end + (-end % 32)
        if sparse:
            f.truncate(start + total)
        else:
            f.write(bytes(start + total - end))
    return p


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1))


# ----------------------------------------------------------------------------------------------
# the sample library: what a user's model folder might hold


def write_sample_library(dest: StrPath) -> list[Path]:
    """~12 small models a user would have, each identified correctly by pumas. Returns their paths."""
    d = Path(dest)
    d.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    H = "F16"

    # SD1.5 checkpoint: UNet (in 4 channels, context width 768), VAE and CLIP-L under their prefixes
    out.append(write_safetensors(d / "v1-5-pruned-emaonly.safetensors", {
        "model.diffusion_model.input_blocks.0.0.weight": (H, [320, 4, 3, 3]),
        "model.diffusion_model.input_blocks.0.0.bias": (H, [320]),
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (H, [320, 768]),
        "model.diffusion_model.out.2.weight": (H, [4, 320, 3, 3]),
        "first_stage_model.decoder.conv_in.weight": (H, [512, 4, 3, 3]),
        "first_stage_model.encoder.conv_in.weight": (H, [128, 3, 3, 3]),
        "cond_stage_model.transformer.text_model.final_layer_norm.weight": (H, [768]),
    }))
    # SDXL LoRA, kohya names: the cross-attention key projection reads the 2048-wide SDXL context
    lora: Tensors = {}
    for base, i, o in (("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k", 2048, 640),
                       ("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q", 640, 640),
                       ("lora_te1_text_model_encoder_layers_0_self_attn_q_proj", 768, 768),
                       ("lora_te2_text_model_encoder_layers_0_self_attn_q_proj", 1280, 1280)):
        lora[base + ".lora_down.weight"] = (H, [16, i])
        lora[base + ".lora_up.weight"] = (H, [o, 16])
        lora[base + ".alpha"] = (H, [])
    out.append(write_safetensors(d / "sdxl_detail_tweaker.safetensors", lora,
                                 metadata={"ss_network_module": "networks.lora", "ss_base_model_version": "sdxl_base_v1-0"}))
    # Flux dev transformer alone (diffusion_models): img_in 64 inputs, guidance embedding present
    out.append(write_safetensors(d / "flux1-dev-fp8.safetensors", {
        "img_in.weight": ("F8_E4M3", [3072, 64]),
        "guidance_in.in_layer.weight": ("F8_E4M3", [3072, 256]),
        "double_blocks.0.img_attn.norm.key_norm.scale": ("BF16", [128]),
        "double_blocks.0.img_attn.norm.query_norm.scale": ("BF16", [128]),
        "single_blocks.0.norm.key_norm.scale": ("BF16", [128]),
        "final_layer.linear.weight": ("F8_E4M3", [64, 3072]),
    }))
    # SDXL VAE: 4 latent channels like SD1's, so the file name decides (and the record says so)
    out.append(write_safetensors(d / "sdxl_vae.safetensors", {
        "encoder.conv_in.weight": (H, [128, 3, 3, 3]),
        "decoder.conv_in.weight": (H, [512, 4, 3, 3]),
        "decoder.up.0.block.0.conv1.weight": (H, [128, 256, 3, 3]),
        "decoder.mid.attn_1.q.weight": (H, [512, 512, 1, 1]),  # a 1x1 conv: the original (not diffusers) layout
        "quant_conv.weight": (H, [8, 8, 1, 1]),
        "post_quant_conv.weight": (H, [4, 4, 1, 1]),
    }))
    # CLIP-L text encoder (12 layers, width 768)
    te: Tensors = {"text_model.encoder.layers.0.self_attn.q_proj.weight": (H, [768, 768])}
    for i in range(12):
        te[f"text_model.encoder.layers.{i}.layer_norm1.weight"] = (H, [768])
    te["text_model.final_layer_norm.weight"] = (H, [768])
    out.append(write_safetensors(d / "clip_l.safetensors", te))
    # T5-XXL encoder: relative attention bias in block 0 only (T5, not UMT5), width 4096
    out.append(write_safetensors(d / "t5xxl_fp8_e4m3fn.safetensors", {
        "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight": ("F8_E4M3", [32, 64]),
        "encoder.block.0.layer.0.layer_norm.weight": ("F8_E4M3", [4096]),
        "encoder.final_layer_norm.weight": ("F8_E4M3", [4096]),
    }))
    # ESRGAN 4x (old-arch keys): RRDB trunk, two upsampling convs, HR conv, last conv
    es: Tensors = {"model.0.weight": ("F32", [64, 3, 3, 3]), "model.0.bias": ("F32", [64]),
                   "model.1.sub.0.RDB1.conv1.0.weight": ("F32", [32, 64, 3, 3])}
    for i in (3, 6, 8):
        es[f"model.{i}.weight"] = ("F32", [64, 64, 3, 3])
    es["model.10.weight"] = ("F32", [3, 64, 3, 3])
    out.append(write_safetensors(d / "4x-UltraSharp.safetensors", es))
    # SD1 textual inversion (4 vectors of CLIP-L width)
    out.append(write_safetensors(d / "easynegative.safetensors", {"emb_params": ("F32", [4, 768])}))
    # SD1 ControlNet (lllyasviel layout): hint block + zero convs + UNet encoder with context 768
    out.append(write_safetensors(d / "control_v11p_sd15_canny_fp16.safetensors", {
        "control_model.input_hint_block.0.weight": (H, [16, 3, 3, 3]),
        "control_model.zero_convs.0.0.weight": (H, [320, 320, 1, 1]),
        "control_model.input_blocks.0.0.weight": (H, [320, 4, 3, 3]),
        "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (H, [320, 768]),
    }))
    # a small GGUF LLM (llama architecture)
    gg = [("token_embd.weight", "F16", [256, 64]), ("output_norm.weight", "F32", [64])]
    for b in range(2):
        gg += [(f"blk.{b}.attn_norm.weight", "F32", [64]), (f"blk.{b}.attn_q.weight", "Q8_0", [64, 64]),
               (f"blk.{b}.attn_k.weight", "Q8_0", [64, 64]), (f"blk.{b}.attn_v.weight", "Q8_0", [64, 64]),
               (f"blk.{b}.attn_output.weight", "Q8_0", [64, 64]), (f"blk.{b}.ffn_up.weight", "Q8_0", [128, 64])]
    out.append(write_gguf(d / "tiny-llama-Q8_0.gguf", "llama", {
        "general.name": "tiny-llama", "general.file_type": 7, "llama.block_count": 2, "llama.embedding_length": 64,
        "llama.context_length": 256, "llama.attention.head_count": 4}, gg))
    # a Diffusers SD1.5 pipeline folder
    f = d / "stable-diffusion-v1-5"
    _write_json(f / "model_index.json", {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
                                         "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
                                         "text_encoder": ["transformers", "CLIPTextModel"],
                                         "scheduler": ["diffusers", "PNDMScheduler"]})
    _write_json(f / "unet" / "config.json", {"_class_name": "UNet2DConditionModel", "cross_attention_dim": 768})
    write_safetensors(f / "unet" / "diffusion_pytorch_model.safetensors", {
        "conv_in.weight": (H, [320, 4, 3, 3]), "time_embedding.linear_1.weight": (H, [1280, 320]),
        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight": (H, [320, 768])})
    _write_json(f / "vae" / "config.json", {"_class_name": "AutoencoderKL", "latent_channels": 4})
    write_safetensors(f / "vae" / "diffusion_pytorch_model.safetensors", {
        "decoder.conv_in.weight": (H, [512, 4, 3, 3]), "decoder.up_blocks.3.resnets.0.conv1.weight": (H, [128, 256, 3, 3])})
    _write_json(f / "text_encoder" / "config.json", {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model"})
    write_safetensors(f / "text_encoder" / "model.safetensors", {
        "text_model.encoder.layers.0.self_attn.q_proj.weight": (H, [768, 768])})
    _write_json(f / "scheduler" / "scheduler_config.json", {"_class_name": "PNDMScheduler"})
    out.append(f)
    # a sharded transformers LLM with its index
    f = d / "tiny-llama-hf"
    _write_json(f / "config.json", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
                                    "num_hidden_layers": 2})
    s1 = {"model.embed_tokens.weight": ("BF16", [256, 64]), "model.layers.0.self_attn.q_proj.weight": ("BF16", [64, 64])}
    s2 = {"model.layers.1.self_attn.q_proj.weight": ("BF16", [64, 64]), "lm_head.weight": ("BF16", [256, 64])}
    write_safetensors(f / "model-00001-of-00002.safetensors", s1)
    write_safetensors(f / "model-00002-of-00002.safetensors", s2)
    wm = {k: "model-00001-of-00002.safetensors" for k in s1} | {k: "model-00002-of-00002.safetensors" for k in s2}
    _write_json(f / "model.safetensors.index.json", {"metadata": {"total_size": 0}, "weight_map": wm})
    out.append(f)
    return out


# what each sample must identify as: (subtype, family, variant)
SAMPLE_EXPECT = {
    "v1-5-pruned-emaonly.safetensors": ("checkpoints", "sd1", None),
    "sdxl_detail_tweaker.safetensors": ("loras", "sdxl", None),
    "flux1-dev-fp8.safetensors": ("diffusion_models", "flux", "dev"),
    "sdxl_vae.safetensors": ("vae", "sdxl", None),
    "clip_l.safetensors": ("text_encoders", "clip-l", None),
    "t5xxl_fp8_e4m3fn.safetensors": ("text_encoders", "t5", "xxl"),
    "4x-UltraSharp.safetensors": ("upscale_models", "esrgan", "4x"),
    "easynegative.safetensors": ("embeddings", "sd1", None),
    "control_v11p_sd15_canny_fp16.safetensors": ("controlnet", "sd1", None),
    "tiny-llama-Q8_0.gguf": (None, "llama", None),
    "stable-diffusion-v1-5": ("diffusers", "sd1", None),
    "tiny-llama-hf": (None, "llama", None),
}
