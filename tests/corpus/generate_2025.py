"""Build tests/corpus/layouts_2025.json.gz: real layouts of the 2025-26 architectures (dev-only).

Same method as generate.py (whose helpers this reuses): every tensor list is the ``state_dict()`` of a
real class instantiated on torch's ``meta`` device - ComfyUI's own ``comfy.ldm.*`` /
``comfy.text_encoders.*`` / ``comfy.audio_encoders.*`` classes, diffusers and transformers - with
the configs ComfyUI's ``model_detection.py`` / ``sd.py`` derive for the released files. Each base
model is checked against ComfyUI's own detection (``model_config_from_unet`` must pick the class it
was built from), so the layout is one ComfyUI really loads. LoRA layouts are the module names of
those classes written in each trainer's naming (kohya/musubi ``lora_unet_`` + ``_``, diffusion-pipe
and ComfyUI ``diffusion_model.``, diffusers/PEFT/ai-toolkit ``transformer.``, LyCORIS, XLabs).
Every record carries ``source``: the file (and class) its layout comes from.

Run (not in CI; the tests only read the stored .json.gz):

    pip install torch==2.13.0 diffusers transformers peft einops torchsde scipy   # into a scratch venv
    git -C /tmp clone https://github.com/Comfy-Org/ComfyUI comfy                 # a125cd84 was used
    pip download torchvision==0.29.1 --no-deps -d /tmp/tv && unzip -q /tmp/tv/*.whl 'torchvision/*' -d /tmp/tv
    python tests/corpus/generate_2025.py --comfy /tmp/comfy --torchvision-src /tmp/tv

Stored file made with torch 2.13.0, diffusers 0.42.1, transformers 5.24.0, peft 0.21.2, gguf 0.19.0
and ComfyUI a125cd84 (torchaudio/av are stubbed: only the modules' import needs them; torchvision's
Python sources come from its 0.29.1 wheel, without the C extension).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.machinery
import json
import math
import os
import re
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.corpus import generate as G  # noqa: E402  (tensors_of, add, E, meta_sd, clip_text, ...)

add, E, tensors_of, meta_sd, meta_model, step = G.add, G.E, G.tensors_of, G.meta_sd, G.meta_model, G.step

C = "Comfy-Org/ComfyUI a125cd84 "


_REAL_TORCHVISION = False


def _torchvision_sources(path: str) -> None:
    """torchvision's pure-Python model code from an unpacked wheel, without its C extension (which does
    not load beside torch 2.13): only efficientnet_v2_s's module tree is needed (Stable Cascade's encoder)."""
    global _REAL_TORCHVISION
    tv = types.ModuleType("torchvision")
    tv.__path__ = [str(Path(path) / "torchvision")]
    sys.modules["torchvision"] = tv
    import torchvision.models  # noqa: F401
    _REAL_TORCHVISION = True


def _stub_optional_imports() -> None:
    """torchvision/torchaudio/av are imported at module level by a few comfy modules we never run."""
    class _Any(types.ModuleType):
        def __getattr__(self, n):
            if n.startswith("__"):
                raise AttributeError(n)
            m = _Any(f"{self.__name__}.{n}")
            sys.modules[m.__name__] = m
            setattr(self, n, m)
            return m

        def __call__(self, *a, **k):
            return _Any("x")

    class _Finder:
        def find_spec(self, name, path, target=None):
            top = name.split(".")[0]
            if top in ("torchaudio", "av", "kornia") or (top == "torchvision" and not _REAL_TORCHVISION):
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            return _Any(spec.name)

        def exec_module(self, m):
            pass

    sys.meta_path.insert(0, _Finder())


def comfy_model(cfg: dict, expect_cls: str):
    """Build ComfyUI's diffusion model for ``cfg`` (as detect_unet_config returns it) on meta, and check
    that ComfyUI's own detection maps the resulting state dict back to ``expect_cls``."""
    import comfy.model_detection as md
    mc = md.model_config_from_unet_config(dict(cfg))
    assert mc is not None and type(mc).__name__ == expect_cls, (type(mc).__name__, expect_cls)
    model = mc.get_model({}, device="meta")
    sd = model.diffusion_model.state_dict()
    back = md.model_config_from_unet(sd, "")
    assert back is not None and type(back).__name__ == expect_cls, (type(back).__name__ if back else None, expect_cls)
    return mc, sd


def fp8(sd, keep=("norm", "bias", "modulation", "embed", "head.")):
    return tensors_of(sd, "", "F8_E4M3", keep_dtype_for=keep)


def scaled_fp8(tensors):
    """ComfyUI's "scaled fp8" repack: fp8 weights, one F32 scale_weight per fp8 matrix, a marker."""
    out = list(tensors)
    out += [[k[:-len("weight")] + "scale_weight", "F32", []] for k, dt, s in tensors if dt == "F8_E4M3" and len(s) == 2]
    return out + [["scaled_fp8", "F8_E4M3", [0]]]


def src(path: str, what: str = "") -> str:
    return C + path + (f" ({what})" if what else "")


# ==============================================================================================
# video diffusion models

WAN = dict(image_model="wan2.1", patch_size=(1, 2, 2), freq_dim=256, window_size=(-1, -1), qk_norm=True,
           cross_attn_norm=True, eps=1e-6, out_dim=16)
W13 = dict(dim=1536, num_heads=12, ffn_dim=8960, num_layers=30)
W14 = dict(dim=5120, num_heads=40, ffn_dim=13824, num_layers=40)
W5 = dict(dim=3072, num_heads=24, ffn_dim=14336, num_layers=30)
_wan_sd: dict = {}


def wan(kind: str) -> dict:
    if kind not in _wan_sd:
        cfgs = {
            "t2v-1.3b": (dict(WAN, **W13, model_type="t2v", in_dim=16), "WAN21_T2V"),
            "t2v-14b": (dict(WAN, **W14, model_type="t2v", in_dim=16), "WAN21_T2V"),
            "i2v-14b": (dict(WAN, **W14, model_type="i2v", in_dim=36), "WAN21_I2V"),
            "flf2v-14b": (dict(WAN, **W14, model_type="i2v", in_dim=36, flf_pos_embed_token_number=514), "WAN21_I2V"),
            # Wan 2.2 A14B image-to-video: 36 input channels and no CLIP image embedding (model_type t2v)
            "i2v-a14b": (dict(WAN, **W14, model_type="t2v", in_dim=36), "WAN21_T2V"),
            "vace-14b": (dict(WAN, **W14, model_type="vace", in_dim=16, vace_in_dim=96, vace_layers=8), "WAN21_Vace"),
            "vace-1.3b": (dict(WAN, **W13, model_type="vace", in_dim=16, vace_in_dim=96, vace_layers=15), "WAN21_Vace"),
            "ti2v-5b": (dict(WAN, **W5, model_type="t2v", in_dim=48, out_dim=48), "WAN22_T2V"),
        }
        cfg, cls = cfgs[kind]
        _wan_sd[kind] = comfy_model(cfg, cls)[1]
    return _wan_sd[kind]


@step("wan")
def gen_wan():
    S = src("comfy/ldm/wan/model.py", "WanModel; detect_unet_config 'head.modulation'")
    add("wan21-t2v-14b", E("diffusion_models", "wan", "t2v", size="14b",
                           releases=["wan2.1-t2v-14b", "wan2.2-t2v-a14b-high-noise", "wan2.2-t2v-a14b-low-noise"]),
        fp8(wan("t2v-14b")), file="wan2.1_t2v_14B_fp8_e4m3fn.safetensors", source=S)
    add("wan22-t2v-a14b-high", E("diffusion_models", "wan", "t2v", size="14b",
                                 releases=["wan2.1-t2v-14b", "wan2.2-t2v-a14b-high-noise", "wan2.2-t2v-a14b-low-noise"]),
        fp8(wan("t2v-14b")), file="wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors", source=S)
    add("wan22-i2v-a14b-low", E("diffusion_models", "wan", "i2v", size="14b",
                                releases=["wan2.2-i2v-a14b-high-noise", "wan2.2-i2v-a14b-low-noise"]),
        tensors_of(wan("i2v-a14b"), "", "F16"), file="wan2.2_i2v_low_noise_14B_fp16.safetensors", source=S)
    add("wan21-flf2v-14b", E("diffusion_models", "wan", "flf2v", size="14b"), fp8(wan("flf2v-14b")),
        file="wan2.1_flf2v_720p_14B_fp8_e4m3fn.safetensors", source=S + " img_emb.emb_pos")
    add("wan21-vace-14b", E("diffusion_models", "wan", "vace", size="14b"), fp8(wan("vace-14b")),
        file="wan2.1_vace_14B_fp16.safetensors", source=src("comfy/ldm/wan/model.py", "VaceWanModel"))
    add("wan21-vace-1.3b", E("diffusion_models", "wan", "vace", size="1.3b"), tensors_of(wan("vace-1.3b"), "", "F16"),
        file="wan2.1_vace_1.3B_fp16.safetensors", source=src("comfy/ldm/wan/model.py", "VaceWanModel"))
    add("wan22-ti2v-5b", E("diffusion_models", "wan", "ti2v", size="5b"), tensors_of(wan("ti2v-5b"), "", "F16"),
        file="wan2.2_ti2v_5B_fp16.safetensors", source=src("comfy/supported_models.py", "WAN22_T2V out_dim 48"))
    # a Wan model with a misleading name: the header decides
    add("wan21-1.3b-misnamed", E("diffusion_models", "wan", "t2v", size="1.3b"), tensors_of(wan("t2v-1.3b"), "", "BF16"),
        file="sdxl_model.safetensors", source=S)


HV = dict(image_model="hunyuan_video", in_channels=16, out_channels=16, patch_size=[1, 2, 2], vec_in_dim=768,
          axes_dim=[16, 56, 56], context_in_dim=4096, hidden_size=3072, mlp_ratio=4.0, num_heads=24, depth=20,
          depth_single_blocks=40, theta=256, qkv_bias=True, guidance_embed=True, meanflow=False, byt5=False)


@step("video dits")
def gen_video():
    _, hvi = comfy_model(dict(HV, in_channels=33), "HunyuanVideoI2V")
    add("hunyuan-video-i2v", E("diffusion_models", "hunyuan-video", "i2v"), tensors_of(hvi, "", "BF16"),
        file="hunyuan_video_image_to_video_720p_bf16.safetensors",
        source=src("comfy/ldm/hunyuan_video/model.py", "HunyuanVideo in_channels 33 (HunyuanVideoI2V)"))
    _, hvt = comfy_model(HV, "HunyuanVideo")
    add("hunyuan-video-t2v-fp8", E("diffusion_models", "hunyuan-video", "t2v"), fp8(hvt),
        file="hunyuan_video_t2v_720p_fp8.safetensors", source=src("comfy/ldm/hunyuan_video/model.py", "HunyuanVideo"))
    # LTX-Video 2B 0.9.x (transformer only) and 13B 0.9.7
    _, l2 = comfy_model(dict(image_model="ltxv", num_layers=28, attention_head_dim=64, cross_attention_dim=4096), "LTXV")
    add("ltxv-2b-transformer", E("diffusion_models", "ltxv", None, size="2b"), tensors_of(l2, "", "BF16"),
        file="ltxv-2b-0.9.6-dev.safetensors", source=src("comfy/ldm/lightricks/model.py", "LTXVModel"))
    mc13, l13 = comfy_model(dict(image_model="ltxv", num_layers=48, attention_head_dim=128, cross_attention_dim=4096), "LTXV")
    add("ltxv-13b-transformer", E("diffusion_models", "ltxv", None, size="13b"), fp8(l13),
        file="ltxv-13b-0.9.7-dev-fp8.safetensors", source=src("comfy/ldm/lightricks/model.py", "LTXVModel 48 layers"))
    # all-in-one LTX checkpoint as Lightricks ships it: transformer under model.diffusion_model. + the VAE under vae.
    from comfy.ldm.lightricks.vae.causal_video_autoencoder import VideoVAE
    lv = meta_sd(lambda: VideoVAE(version=1))
    full = dict(mc13.process_unet_state_dict_for_saving(dict(l2)))
    full.update({"vae." + k: v for k, v in lv.items()})
    add("ltxv-2b-checkpoint", E("checkpoints", "ltxv", None, size="2b"), tensors_of(full, "", "BF16"),
        file="ltx-video-2b-v0.9.5.safetensors",
        source=src("comfy/supported_models.py", "LTXV: model.diffusion_model. + vae. (causal_video_autoencoder)"))
    # Mochi preview
    mochi_cfg = dict(image_model="mochi_preview", depth=48, patch_size=2, num_heads=24, hidden_size_x=3072,
                     hidden_size_y=1536, mlp_ratio_x=4.0, mlp_ratio_y=4.0, learn_sigma=False, in_channels=12,
                     qk_norm=True, qkv_bias=False, out_bias=True, attn_drop=0.0, patch_embed_bias=True,
                     posenc_preserve_area=True, timestep_mlp_bias=True, attend_to_padding=False,
                     timestep_scale=1000.0, use_t5=True, t5_feat_dim=4096, t5_token_length=256, rope_theta=10000.0)
    _, mo = comfy_model(mochi_cfg, "GenmoMochi")
    add("mochi-preview", E("diffusion_models", "mochi"), tensors_of(mo, "", "BF16"),
        file="mochi_preview_bf16.safetensors", source=src("comfy/ldm/genmo/joint_model/asymm_models_joint.py", "AsymmDiTJoint"))
    # Cosmos Predict2 2B text-to-image and 14B video2world
    base = dict(image_model="cosmos_predict2", max_img_h=240, max_img_w=240, max_frames=128, out_channels=16,
                patch_spatial=2, patch_temporal=1, concat_padding_mask=True, crossattn_emb_channels=1024,
                pos_emb_cls="rope3d", pos_emb_learnable=True, pos_emb_interpolation="crop", min_fps=1, max_fps=30,
                use_adaln_lora=True, adaln_lora_dim=256, extra_h_extrapolation_ratio=1.0, extra_w_extrapolation_ratio=1.0,
                extra_t_extrapolation_ratio=1.0, rope_enable_fps_modulation=False)
    _, c2 = comfy_model(dict(base, in_channels=16, model_channels=2048, num_blocks=28, num_heads=16,
                             extra_per_block_abs_pos_emb=False, rope_h_extrapolation_ratio=4.0,
                             rope_w_extrapolation_ratio=4.0, rope_t_extrapolation_ratio=1.0), "CosmosT2IPredict2")
    add("cosmos-predict2-2b-t2i", E("diffusion_models", "cosmos", "t2i", size="2b"), tensors_of(c2, "", "BF16"),
        file="cosmos_predict2_2B_t2i.safetensors", source=src("comfy/ldm/cosmos/predict2.py", "MiniTrainDIT"))
    _, c14 = comfy_model(dict(base, in_channels=17, model_channels=5120, num_blocks=36, num_heads=40,
                              rope_h_extrapolation_ratio=2.0, rope_w_extrapolation_ratio=2.0,
                              rope_t_extrapolation_ratio=0.8333333333333334), "CosmosI2VPredict2")
    add("cosmos-predict2-14b-i2v", E("diffusion_models", "cosmos", "i2v", size="14b"), fp8(c14),
        file="cosmos_predict2_14B_video2world_480p_16fps.safetensors",
        source=src("comfy/ldm/cosmos/predict2.py", "MiniTrainDIT in_channels 17"))
    # CogVideoX 5B (diffusers; ComfyUI core has no class: kijai's CogVideoXWrapper loads it)
    from diffusers import CogVideoXTransformer3DModel
    cog = meta_sd(lambda: CogVideoXTransformer3DModel(num_attention_heads=48, num_layers=42, use_rotary_positional_embeddings=True))
    add("cogvideox-5b", E("diffusion_models", "cogvideox", None, size="5b"), tensors_of(cog, "", "BF16"),
        file="CogVideoX_5b_1_5_transformer.safetensors",
        source="diffusers 0.42.1 CogVideoXTransformer3DModel (num_layers 42, heads 48)")


# ==============================================================================================
# image diffusion models

FLUX = G.FLUX


@step("image dits")
def gen_image():
    import comfy.supported_models as sm  # noqa: F401
    # SD3.5 all-in-one as Stability ships it (model.diffusion_model. + first_stage_model.) and a turbo copy
    for name, depth, extra in (("large", 38, {}), ("medium", 24, {"x_block_self_attn_layers": list(range(13))})):
        cfg = dict(in_channels=16, out_channels=16, patch_size=2, depth=depth, input_size=None, adm_in_channels=2048,
                   context_embedder_config={"target": "torch.nn.Linear", "params": {"in_features": 4096, "out_features": 64 * depth}},
                   num_patches=147456 if depth == 38 else 147456, pos_embed_max_size=384, pos_embed_scaling_factor=None,
                   qk_norm="rms", **dict({"x_block_self_attn_layers": []}, **extra))
        mc, s = comfy_model(cfg, "SD3")
        full = dict(mc.process_unet_state_dict_for_saving(dict(s)))
        full.update({"first_stage_model." + k: v for k, v in G.vae_sd(16, quant=False).items()})
        rel = ["sd3.5-large", "sd3.5-large-turbo"] if name == "large" else None
        add(f"sd35-{name}-checkpoint", E("checkpoints", "sd3.5", name, releases=rel), tensors_of(full, "", "F16"),
            file=f"sd3.5_{name}.safetensors", source=src("comfy/ldm/modules/diffusionmodules/mmdit.py", f"MMDiT depth {depth}, qk rms"))
        if name == "large":
            add("sd35-large-turbo-dm", E("diffusion_models", "sd3.5", "large", releases=rel), fp8(s),
                file="model.safetensors", source=src("comfy/ldm/modules/diffusionmodules/mmdit.py"))
    # Flux variants decided by the header: Depth/Canny (img_in 128), Kontext (= dev layout)
    _, ctl = comfy_model(dict(FLUX, in_channels=32, out_channels=16), "Flux")
    add("flux-depth-dev", E("diffusion_models", "flux", "control", releases=["flux1-depth-dev", "flux1-canny-dev"]),
        tensors_of(ctl, "", "BF16"), file="flux1-depth-dev.safetensors", source=src("comfy/ldm/flux/model.py", "in_channels 32"))
    add("flux-canny-dev-fp8", E("diffusion_models", "flux", "control", releases=["flux1-depth-dev", "flux1-canny-dev"]),
        fp8(ctl), file="flux1-canny-dev-fp8.safetensors", source=src("comfy/ldm/flux/model.py", "in_channels 32"))
    _, dev = comfy_model(FLUX, "Flux")
    add("flux-kontext-dev", E("diffusion_models", "flux", "dev",
                              releases=["flux1-dev", "flux1-kontext-dev", "flux1-krea-dev"]),
        fp8(dev), file="flux1-dev-kontext_fp8_scaled.safetensors", source=src("comfy/ldm/flux/model.py"))
    add("flux-dev-noname", E("diffusion_models", "flux", "dev", releases=["flux1-dev", "flux1-kontext-dev", "flux1-krea-dev"]),
        tensors_of(dev, "", "BF16"), file="model.safetensors", source=src("comfy/ldm/flux/model.py"))
    _, fill = comfy_model(dict(FLUX, in_channels=96, out_channels=16), "FluxInpaint")
    add("flux-fill-fp8", E("diffusion_models", "flux", "fill"), fp8(fill), file="flux1-fill-dev-fp8.safetensors",
        source=src("comfy/ldm/flux/model.py", "FluxInpaint"))
    # Chroma: no vector_in/guidance_in, distilled_guidance_layer
    chroma = dict({k: v for k, v in FLUX.items() if k not in ("vec_in_dim", "guidance_embed")}, image_model="chroma",
                  in_channels=64, out_channels=64, in_dim=64, out_dim=3072, hidden_dim=5120, n_layers=5)
    _, ch = comfy_model(chroma, "Chroma")
    add("chroma-fp8", E("diffusion_models", "chroma"), fp8(ch), file="Chroma1-HD-fp8_scaled.safetensors",
        source=src("comfy/ldm/chroma/model.py", "Chroma"))
    # HiDream I1 (full/dev/fast share the layout)
    hd = dict(image_model="hidream", attention_head_dim=128, axes_dims_rope=[64, 32, 32], caption_channels=[4096, 4096],
              max_resolution=[128, 128], in_channels=16, llama_layers=list(range(32)) + [31] * 16, num_attention_heads=20,
              num_routed_experts=4, num_activated_experts=2, num_layers=16, num_single_layers=32, out_channels=16,
              patch_size=2, text_emb_dim=2048)
    _, h = comfy_model(hd, "HiDream")
    add("hidream-i1-dev-fp8", E("diffusion_models", "hidream", None,
                                releases=["hidream-i1-full", "hidream-i1-dev", "hidream-i1-fast"]), fp8(h),
        file="hidream_i1_dev_fp8.safetensors", source=src("comfy/ldm/hidream/model.py", "HiDreamImageTransformer2DModel"))
    # Qwen-Image (and Qwen-Image-Edit: same layout)
    _, q = comfy_model(dict(image_model="qwen_image", in_channels=64, num_layers=60), "QwenImage")
    add("qwen-image-edit-fp8", E("diffusion_models", "qwen-image", None, releases=["qwen-image", "qwen-image-edit"]),
        fp8(q), file="qwen_image_edit_fp8_e4m3fn.safetensors", source=src("comfy/ldm/qwen_image/model.py"))
    # Lumina 2 all-in-one (Comfy-Org lumina_2.safetensors: model + vae + gemma2 text encoder)
    lum = dict(image_model="lumina2", patch_size=2, in_channels=16, dim=2304, cap_feat_dim=2304, n_layers=26, n_heads=24,
               n_kv_heads=8, qk_norm=True, axes_dims=[32, 32, 32], axes_lens=[300, 512, 512])
    mcl, l = comfy_model(lum, "Lumina2")
    full = dict(mcl.process_unet_state_dict_for_saving(dict(l)))
    full.update({"vae." + k: v for k, v in G.vae_sd(16, quant=False).items()})
    full.update({"text_encoders.gemma2_2b." + k: v for k, v in comfy_te("gemma2-2b").items()})
    add("lumina2-checkpoint", E("checkpoints", "lumina2"), tensors_of(full, "", "BF16"), file="lumina_2.safetensors",
        source=src("comfy/ldm/lumina/model.py + comfy/text_encoders/llama.py Gemma2_2B", "NextDiT"))
    # AuraFlow 0.3, PixArt Sigma 2K / Alpha
    _, a = comfy_model(dict(max_seq=4096, cond_seq_dim=2048, n_double_layers=4, n_layers=36), "AuraFlow")
    add("auraflow-ckpt", E("checkpoints", "auraflow"),
        tensors_of({**{"model.diffusion_model." + k: v for k, v in a.items()},
                    **{"vae." + k: v for k, v in G.vae_sd(4).items()}}, "", "F16"),
        file="aura_flow_0.3.safetensors", source=src("comfy/ldm/aura/mmdit.py", "MMDiT; AuraFlow checkpoint"))
    _, pa = comfy_model(dict(image_model="pixart_alpha", num_heads=16, patch_size=2, hidden_size=1152, in_channels=4,
                             depth=28, model_max_length=120, input_size=128, pe_interpolation=2, micro_condition=True),
                        "PixArtAlpha")
    add("pixart-alpha", E("diffusion_models", "pixart", "alpha"), tensors_of(pa, "", "F16"),
        file="PixArt-XL-2-1024-MS.safetensors", source=src("comfy/ldm/pixart/pixartms.py", "PixArtMS micro_condition"))
    _, ps = comfy_model(dict(image_model="pixart_sigma", num_heads=16, patch_size=2, hidden_size=1152, in_channels=4,
                             depth=28, model_max_length=300, input_size=256, pe_interpolation=4, micro_condition=False),
                        "PixArtSigma")
    add("pixart-sigma-2k", E("diffusion_models", "pixart", "sigma"), tensors_of(ps, "", "F16"),
        file="PixArt-Sigma-XL-2-2K-MS.safetensors", source=src("comfy/ldm/pixart/pixartms.py", "PixArtMS"))
    # Sana 1600M (diffusers; ComfyUI core has no class)
    from diffusers import SanaTransformer2DModel
    sana = meta_sd(lambda: SanaTransformer2DModel(num_layers=20, num_attention_heads=70, attention_head_dim=32,
                                                  num_cross_attention_heads=20, cross_attention_head_dim=112,
                                                  cross_attention_dim=2240, caption_channels=2304, sample_size=32))
    add("sana-1600m", E("diffusion_models", "sana", None, size="1.6b"), tensors_of(sana, "", "BF16"),
        file="Sana_1600M_1024px_diffusers.safetensors", source="diffusers 0.42.1 SanaTransformer2DModel (20 layers, 2240)")
    # Stable Cascade: stage C lite, stage B full, stage A, EfficientNet encoder
    _, sc = comfy_model(dict(stable_cascade_stage="c", c_cond=2048, c_hidden=[1536, 1536], nhead=[24, 24],
                             blocks=[[4, 12], [12, 4]], block_repeat=[[1, 1], [1, 1]]), "Stable_Cascade_C")
    add("cascade-c-lite", E("diffusion_models", "cascade", "stage_c"), tensors_of(sc, "", "BF16"),
        file="stage_c_lite_bf16.safetensors", source=src("comfy/ldm/cascade/stage_c.py", "StageC lite"))
    _, sb = comfy_model(dict(stable_cascade_stage="b", c_hidden=[320, 640, 1280, 1280], nhead=[-1, -1, 20, 20],
                             blocks=[[2, 6, 28, 6], [6, 28, 6, 2]], block_repeat=[[1, 1, 1, 1], [3, 3, 2, 2]]),
                        "Stable_Cascade_B")
    add("cascade-b", E("diffusion_models", "cascade", "stage_b"), tensors_of(sb, "", "BF16"),
        file="stage_b_bf16.safetensors", source=src("comfy/ldm/cascade/stage_b.py", "StageB"))
    from comfy.ldm.cascade.stage_a import StageA
    add("cascade-a", E("vae", "cascade", "stage_a"), tensors_of(meta_sd(StageA), "", "F32"), file="stage_a.safetensors",
        source=src("comfy/ldm/cascade/stage_a.py", "StageA (sd.py 'vquantizer.codebook.weight')"))
    if "torchvision.models" in sys.modules or _REAL_TORCHVISION:
        from comfy.ldm.cascade.stage_c_coder import StageC_coder
        enc = meta_sd(lambda: StageC_coder().encoder)  # backbone (torchvision efficientnet_v2_s features) + mapper
        add("cascade-effnet-encoder", E("vae", "cascade", "effnet"), tensors_of(enc, "", "F32"), file="effnet_encoder.safetensors",
            source=src("comfy/ldm/cascade/stage_c_coder.py", "EfficientNetEncoder on torchvision 0.29.1 efficientnet_v2_s "
                       "(sd.py 'backbone.1.0.block.0.1.num_batches_tracked')"))
    # Kolors: an SDXL-shaped UNet fed by ChatGLM3 (4096 -> 2048 encoder_hid_proj, 5632 add-embeddings)
    from diffusers import UNet2DConditionModel
    kcfg = dict(G.UNET_CFGS["sdxl"], encoder_hid_dim=4096, encoder_hid_dim_type="text_proj",
                projection_class_embeddings_input_dim=5632)
    add("kolors-unet-diffusers", E("diffusion_models", "kolors"), tensors_of(meta_sd(lambda: UNet2DConditionModel(**kcfg)), "", "F16"),
        file="diffusion_pytorch_model.fp16.safetensors", source="diffusers 0.42.1 UNet2DConditionModel (Kwai-Kolors/Kolors unet/config.json)")
    # HunyuanDiT 1.0/1.1 (no size/style conditioning) and OmniGen2
    _, hy = comfy_model(dict(image_model="hydit", depth=40, hidden_size=1408, mlp_ratio=4.3637), "HunyuanDiT")
    add("hunyuan-dit-1.1", E("diffusion_models", "hunyuan-dit"), tensors_of(hy, "", "F16"),
        file="hunyuan_dit_1.1.safetensors", source=src("comfy/ldm/hydit/models.py", "HunYuanDiT"))
    og = dict(image_model="omnigen2", axes_dim_rope=[40, 40, 40], axes_lens=[1024, 1664, 1664], ffn_dim_multiplier=None,
              hidden_size=2520, in_channels=16, multiple_of=256, norm_eps=1e-05, num_attention_heads=21, num_kv_heads=7,
              num_layers=32, num_refiner_layers=2, out_channels=None, patch_size=2, text_feat_dim=2048, timestep_scale=1000.0)
    _, o = comfy_model(og, "Omnigen2")
    add("omnigen2", E("diffusion_models", "omnigen2"), tensors_of(o, "", "BF16"), file="omnigen2_fp16.safetensors",
        source=src("comfy/ldm/omnigen/omnigen2.py", "OmniGen2Transformer2DModel"))
    # an SDXL checkpoint named like a Flux file: the header decides
    mcx, ux = G.comfy_unet("sdxl")
    full = dict(mcx.process_unet_state_dict_for_saving(dict(ux)))
    full.update(mcx.process_vae_state_dict_for_saving(dict(G.vae_sd(4))))
    full.update(mcx.process_clip_state_dict_for_saving({**{"clip_l.transformer." + k: v for k, v in G.clip_text("clip-l").items()},
                                                        **{"clip_g.transformer." + k: v for k, v in G.clip_text("clip-g").items()}}))
    add("sdxl-checkpoint-misnamed", E("checkpoints", "sdxl"), tensors_of(full, "", "F16"), file="flux_dev.safetensors",
        source=src("comfy/supported_models.py", "SDXL CheckpointSave layout"))


# ==============================================================================================
# VAEs

@step("vaes")
def gen_vaes():
    from comfy.ldm.models.autoencoder import AutoencoderKL
    from comfy.ldm.wan.vae import WanVAE
    wan21 = meta_sd(lambda: WanVAE(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                                   temperal_downsample=[False, True, True], dropout=0.0))
    # Qwen-Image's VAE is the Wan 2.1 VAE architecture (same keys and shapes): the header cannot tell them apart
    add("qwen-image-vae", E("vae", "qwen-image", None, decides=False, family_any=["wan", "qwen-image"]),
        tensors_of(wan21, "", "BF16"), file="qwen_image_vae.safetensors", source=src("comfy/ldm/wan/vae.py", "WanVAE (sd.py Wan 2.1 branch)"))
    add("wan21-vae-noname", E("vae", "wan", "2.1", decides=False, family_any=["wan", "qwen-image"]),
        tensors_of(wan21, "", "F32"), file="vae.safetensors", source=src("comfy/ldm/wan/vae.py", "WanVAE"))
    ddconfig = {'double_z': True, 'z_channels': 16, 'resolution': 256, 'in_channels': 3, 'out_ch': 3, 'ch': 128,
                'ch_mult': [1, 2, 4, 4], 'num_res_blocks': 2, 'attn_resolutions': [], 'dropout': 0.0, "conv3d": True,
                "time_compress": 4}
    hv = meta_sd(lambda: AutoencoderKL(ddconfig=ddconfig, embed_dim=16))
    add("hunyuan-video-vae", E("vae", "hunyuan-video"), tensors_of(hv, "", "BF16"),
        file="hunyuan_video_vae_bf16.safetensors", source=src("comfy/sd.py", "AutoencoderKL conv3d ('decoder.conv_in.conv.weight')"))
    from comfy.ldm.lightricks.vae.causal_video_autoencoder import VideoVAE as LTXVAE
    add("ltxv-vae-0.9", E("vae", "ltxv"), tensors_of(meta_sd(lambda: LTXVAE(version=0)), "", "BF16"),
        file="ltxv_vae_0.9.safetensors", source=src("comfy/ldm/lightricks/vae/causal_video_autoencoder.py", "VideoVAE version 0"))
    add("ltxv-vae-0.9.5", E("vae", "ltxv"), tensors_of(meta_sd(lambda: LTXVAE(version=2)), "", "BF16"),
        file="ltxv_vae_0.9.5.safetensors", source=src("comfy/ldm/lightricks/vae/causal_video_autoencoder.py", "VideoVAE version 2"))
    import comfy.ldm.genmo.vae.model as gm
    add("mochi-vae", E("vae", "mochi"), tensors_of(meta_sd(gm.VideoVAE), "", "BF16"), file="mochi_vae.safetensors",
        source=src("comfy/ldm/genmo/vae/model.py", "VideoVAE"))
    # diffusers-format Wan 2.1 VAE (AutoencoderKLWan) from a diffusers repo's vae/ folder
    from diffusers import AutoencoderKLWan
    add("wan21-vae-diffusers", E("vae", "wan", "2.1", decides=False, family_any=["wan", "qwen-image"]),
        tensors_of(meta_sd(lambda: AutoencoderKLWan()), "", "F32"), file="diffusion_pytorch_model.safetensors",
        source="diffusers 0.42.1 AutoencoderKLWan")


# ==============================================================================================
# text encoders

_te: dict = {}


def comfy_te(kind: str) -> dict:
    """ComfyUI's own text-encoder modules (what its repacks hold), built on meta."""
    if kind not in _te:
        import comfy.ops
        import comfy.text_encoders.llama as L
        import torch
        ops = comfy.ops.manual_cast
        with torch.device("meta"):
            if kind == "gemma2-2b":
                m = L.Gemma2_2B({}, torch.bfloat16, "meta", ops)
            elif kind == "llama3-8b":
                m = L.Llama2({}, torch.bfloat16, "meta", ops)
            elif kind == "qwen25-vl-7b":
                m = L.Qwen25_7BVLI({}, torch.bfloat16, "meta", ops)
            elif kind == "qwen25-3b":
                m = L.Qwen25_3B({}, torch.bfloat16, "meta", ops)
            elif kind == "umt5-base":
                import comfy.text_encoders.t5 as T5
                cfg = json.loads((Path(T5.__file__).parent / "umt5_config_base.json").read_text())
                m = T5.T5(cfg, torch.bfloat16, "meta", ops)
            else:
                raise KeyError(kind)
        _te[kind] = m.state_dict()
    return _te[kind]


@step("text encoders")
def gen_text_encoders():
    S = "comfy/text_encoders/llama.py"
    t = tensors_of(G.t5_enc("umt5-xxl"), "", "F8_E4M3", keep_dtype_for=("layer_norm", "relative_attention_bias", "shared"))
    add("umt5-xxl-fp8-scaled", E("text_encoders", "umt5", "xxl"), scaled_fp8(t), file="umt5_xxl_fp8_e4m3fn_scaled.safetensors",
        source="transformers UMT5EncoderModel as comfy/text_encoders/wan.py loads it; scaled-fp8 marker as comfy/ops.py reads it")
    add("umt5-base-ace", E("text_encoders", "umt5", "base"), tensors_of(comfy_te("umt5-base"), "", "BF16"),
        file="umt5_base.safetensors", source=src("comfy/text_encoders/t5.py", "T5 with umt5_config_base.json (ACE-Step)"))
    ll = tensors_of(comfy_te("llama3-8b"), "", "F8_E4M3", keep_dtype_for=("norm", "embed_tokens"))
    add("llava-llama3-fp8-scaled", E("text_encoders", "llama3-8b"), scaled_fp8(ll), file="llava_llama3_fp8_scaled.safetensors",
        source=src(S, "Llama2 (HunyuanVideo encoder, detect_te_model LLAMA3_8)"))
    add("llava-llama3-fp16", E("text_encoders", "llama3-8b"), tensors_of(comfy_te("llama3-8b"), "", "F16"),
        file="llava_llama3_fp16.safetensors", source=src(S, "Llama2"))
    add("llama31-8b-hidream-fp8", E("text_encoders", "llama3-8b"), scaled_fp8(ll),
        file="llama_3.1_8b_instruct_fp8_scaled.safetensors", source=src(S, "Llama2 (HiDream encoder 4)"))
    q7 = comfy_te("qwen25-vl-7b")
    add("qwen25-vl-7b-fp8-scaled", E("text_encoders", "qwen2.5-vl-7b"),
        scaled_fp8(tensors_of(q7, "", "F8_E4M3", keep_dtype_for=("norm", "embed_tokens", "bias", "visual.patch_embed"))),
        file="qwen_2.5_vl_7b_fp8_scaled.safetensors", source=src(S, "Qwen25_7BVLI (Qwen-Image encoder, QWEN25_7B)"))
    add("qwen25-vl-7b-bf16", E("text_encoders", "qwen2.5-vl-7b"), tensors_of(q7, "", "BF16"),
        file="qwen_2.5_vl_7b.safetensors", source=src(S, "Qwen25_7BVLI"))
    add("gemma2-2b-lumina", E("text_encoders", "gemma2-2b"), tensors_of(comfy_te("gemma2-2b"), "", "BF16"),
        file="gemma_2_2b_fp16.safetensors", source=src(S, "Gemma2_2B (Lumina 2 encoder, GEMMA_2_2B)"))
    add("qwen25-3b-omnigen2", E("text_encoders", "qwen2.5-3b"), tensors_of(comfy_te("qwen25-3b"), "", "BF16"),
        file="qwen_2.5_vl_fp16.safetensors", source=src(S, "Qwen25_3B (OmniGen2 encoder, QWEN25_3B)"))
    # full LLM releases: transformers classes with their lm_head, in a folder with config/tokenizer/generation config
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM
    cfg = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=8, vocab_size=128256)
    llm = tensors_of(meta_sd(lambda: LlamaForCausalLM(LlamaConfig(**cfg))), "", "BF16")
    add("llama31-8b-instruct-file", E(None, "llama", None, model_type="llm", size="8b"), llm, file="model.safetensors",
        source="transformers 5.24.0 LlamaForCausalLM (meta-llama/Llama-3.1-8B-Instruct config): lm_head present",
        companions={"config.json": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
                    "generation_config.json": {"bos_token_id": 128000}, "tokenizer.json": {}})
    qcfg = dict(hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32,
                num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=True)
    # save_pretrained drops tied weights: a tied-embedding release has no lm_head
    q3 = [x for x in tensors_of(meta_sd(lambda: Qwen3ForCausalLM(Qwen3Config(**qcfg))), "", "BF16") if x[0] != "lm_head.weight"]
    add("qwen3-4b-file", E(None, "qwen3", None, model_type="llm", size="4b"), q3, file="model.safetensors",
        source="transformers 5.24.0 Qwen3ForCausalLM (Qwen/Qwen3-4B config; tied embeddings, no lm_head)",
        companions={"config.json": {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3"},
                    "generation_config.json": {"bos_token_id": 151643}, "tokenizer_config.json": {}})
    # vision encoders
    add("cv-clip-vit-h-wan", E("clip_vision", "clip-vit-h"), tensors_of(G.clip_vision("clip-vit-h"), "", "F16"),
        file="clip_vision_h.safetensors", source="transformers CLIPVisionModelWithProjection (ViT-H/14)")
    add("cv-siglip-redux", E("clip_vision", "siglip"), tensors_of(G.clip_vision("siglip"), "", "BF16"),
        file="sigclip_vision_patch14_384.safetensors", source="transformers SiglipVisionModel so400m/14-384")


# ==============================================================================================
# audio models and encoders

@step("audio")
def gen_audio():
    import comfy.supported_models as sm
    mc = sm.StableAudio({"audio_model": "dit1.0"})
    import comfy.ops
    from comfy.ldm.audio.autoencoder import AudioOobleckVAE
    from comfy.ldm.audio.dit import AudioDiffusionTransformer
    from comfy.ldm.audio.embedders import NumberConditioner
    dit = meta_sd(lambda: AudioDiffusionTransformer(io_channels=64, embed_dim=1536, depth=24, num_heads=24,
                                                    cond_token_dim=768, global_cond_dim=1536, project_cond_tokens=False,
                                                    transformer_type="continuous_transformer",
                                                    operations=comfy.ops.disable_weight_init, device="meta"))
    # the released file also holds the all-zero LayerNorm betas that StableAudio.process_unet_state_dict drops
    import torch
    released = dict(dit)
    for k, v in dit.items():
        for n in (".cross_attend_norm.gamma", ".ff_norm.gamma", ".pre_norm.gamma"):
            if k.endswith(n):
                released[k[:-len("gamma")] + "beta"] = torch.empty(v.shape, device="meta")
    assert set(mc.process_unet_state_dict(dict(released))) == set(dit)
    full = dict(mc.process_unet_state_dict_for_saving(released))
    full.update({"pretransform.model." + k: v for k, v in meta_sd(AudioOobleckVAE).items()})
    for n in ("seconds_start", "seconds_total"):
        full.update({f"conditioner.conditioners.{n}." + k: v for k, v in meta_sd(lambda: NumberConditioner(768, min_val=0, max_val=512)).items()})
    add("stable-audio-open-1.0", E("checkpoints", "stable-audio", None, model_type="audio"), tensors_of(full, "", "F32"),
        file="stable_audio_open_1.0.safetensors",
        source=src("comfy/supported_models.py StableAudio + comfy/ldm/audio/dit.py + autoencoder.py", "model.model./pretransform.model./conditioner."))
    # ACE-Step v1 3.5B all-in-one (Comfy-Org ace_step_v1_3.5b.safetensors)
    import comfy.model_detection as md
    cfg = md.detect_unet_config({"genre_embedder.weight": None}, "")
    mca = md.model_config_from_unet_config(cfg)
    assert type(mca).__name__ == "ACEStep"
    ace = mca.get_model({}, device="meta").diffusion_model.state_dict()
    from comfy.ldm.ace.vae.music_dcae_pipeline import MusicDCAE
    full = dict(mca.process_unet_state_dict_for_saving(dict(ace)))
    # MusicDCAE calls .item() while it builds: made on the CPU (real memory, a few hundred MB), shapes kept
    full.update({"vae." + k: v for k, v in MusicDCAE(source_sample_rate=44100).state_dict().items()})
    full.update({"text_encoders.umt5base.transformer." + k: v for k, v in comfy_te("umt5-base").items()})
    add("ace-step-v1-3.5b", E("checkpoints", "ace-step", None, model_type="audio"), tensors_of(full, "", "BF16"),
        file="ace_step_v1_3.5b.safetensors",
        source=src("comfy/ldm/ace/model.py ACEStepTransformer2DModel + comfy/ldm/ace/vae/music_dcae_pipeline.py"))
    # wav2vec2 audio encoders (Wan S2V / HuMo): transformers Wav2Vec2Model large
    from transformers import Wav2Vec2Config, Wav2Vec2Model
    w = meta_sd(lambda: Wav2Vec2Model(Wav2Vec2Config(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                                     intermediate_size=4096, feat_extract_norm="layer", do_stable_layer_norm=True,
                                                     conv_bias=True)))
    add("wav2vec2-large", E("audio_encoders", "wav2vec2", "large", model_type="audio"), tensors_of(w, "", "F16"),
        file="wav2vec2_large_english_fp16.safetensors",
        source="transformers Wav2Vec2Model large (comfy/audio_encoders/audio_encoders.py 'encoder.layer_norm.bias')")
    wb = meta_sd(lambda: Wav2Vec2Model(Wav2Vec2Config()))
    add("wav2vec2-base", E("audio_encoders", "wav2vec2", "base", model_type="audio"),
        tensors_of({"wav2vec2." + k: v for k, v in wb.items()}, "", "F32"), file="chinese-wav2vec2-base.safetensors",
        source="transformers Wav2Vec2Model base under wav2vec2. (stripped by audio_encoders.py)")


# ==============================================================================================
# adapters

def _lora_pairs(names_shapes, fmt: str, rank: int, dt: str = "BF16", kind: str = "lora"):
    """LoRA keys for (module name, [out, in]) in one trainer's naming."""
    out = []
    for n, (o, i) in names_shapes:
        if fmt == "kohya":
            b = "lora_unet_" + n.replace(".", "_")
            a_, b_ = ".lora_down.weight", ".lora_up.weight"
        elif fmt == "lycoris":
            b = "lycoris_" + n.replace(".", "_")
            a_, b_ = ".lora_down.weight", ".lora_up.weight"
        elif fmt == "comfy":
            b, a_, b_ = "diffusion_model." + n, ".lora_A.weight", ".lora_B.weight"
        elif fmt == "peft":
            b, a_, b_ = "transformer." + n, ".lora_A.weight", ".lora_B.weight"
        elif fmt == "bare":  # the official Mochi / ACE-Step LoRA format: module names as they are
            b, a_, b_ = n, ".lora_A.weight", ".lora_B.weight"
        elif fmt == "peft-base":
            b, a_, b_ = "base_model.model." + n, ".lora_A.weight", ".lora_B.weight"
        else:
            raise KeyError(fmt)
        if kind == "lora" or kind == "dora":
            out += [[b + a_, dt, [rank, i]], [b + b_, dt, [o, rank]]]
            if kind == "dora":
                out.append([b + (".dora_scale" if fmt in ("kohya", "lycoris") else ".lora_magnitude_vector"), dt,
                            [1, i] if fmt in ("kohya", "lycoris") else [o]])
        elif kind == "lokr":
            f = 16 if (o % 16 == 0 and i % 16 == 0) else 1
            out += [[b + ".lokr_w1", dt, [f, f]], [b + ".lokr_w2_a", dt, [o // f, rank]], [b + ".lokr_w2_b", dt, [rank, i // f]]]
        elif kind == "loha":
            out += [[b + ".hada_w1_a", dt, [o, rank]], [b + ".hada_w1_b", dt, [rank, i]],
                    [b + ".hada_w2_a", dt, [o, rank]], [b + ".hada_w2_b", dt, [rank, i]]]
        if fmt in ("kohya", "lycoris"):
            out.append([b + ".alpha", dt, []])
    return out


def _linear_shapes(sd: dict, pattern: str):
    rx = re.compile(pattern)
    return [(k[:-len(".weight")], list(v.shape)) for k, v in sd.items() if rx.search(k) and k.endswith(".weight") and v.dim() == 2]


@step("loras")
def gen_loras():
    WL = r"blocks\.\d+\.(self_attn|cross_attn)\.(q|k|v|o)\.weight$|blocks\.\d+\.ffn\.(0|2)\.weight$"
    w13 = _linear_shapes(wan("t2v-1.3b"), WL)
    w14 = _linear_shapes(wan("t2v-14b"), WL)
    w5 = _linear_shapes(wan("ti2v-5b"), WL)
    S = src("comfy/ldm/wan/model.py", "WanModel module names; comfy/lora.py model_lora_keys_unet")
    add("wan-1.3b-lora-diffpipe", E("loras", "wan", None, size="1.3b"), _lora_pairs(w13, "comfy", 32),
        file="wan_1.3b_style_diffusion_pipe.safetensors", source=S + " (diffusion-pipe: diffusion_model. + lora_A/B)")
    add("wan-14b-lora-musubi", E("loras", "wan", None, size="14b"), _lora_pairs(w14, "kohya", 32),
        file="sdxl_detail_lora.safetensors", source=S + " (musubi tuner: lora_unet_ + _ + alpha); misleading name",
        metadata={"ss_network_module": "networks.lora_wan"})
    add("wan-5b-lora-comfy", E("loras", "wan", None, size="5b"), _lora_pairs(w5, "comfy", 16),
        file="wan2.2_5b_lora.safetensors", source=S)
    # diffusers naming of Wan (WanTransformer3DModel: attn1/attn2.to_q, ffn.net.0.proj)
    from diffusers import WanTransformer3DModel
    wd = meta_sd(lambda: WanTransformer3DModel(num_attention_heads=40, attention_head_dim=128, ffn_dim=13824, num_layers=40))
    wdl = _linear_shapes(wd, r"blocks\.\d+\.attn[12]\.(to_q|to_k|to_v|to_out\.0)\.weight$")
    add("wan-14b-lora-diffusers", E("loras", "wan", None, size="14b"), _lora_pairs(wdl, "peft", 16),
        file="pytorch_lora_weights.safetensors", source="diffusers 0.42.1 WanTransformer3DModel 14B (PEFT naming)")
    add("wan-14b-lokr", E("loras", "wan", "lokr", size="14b"), _lora_pairs(w14, "lycoris", 16, kind="lokr"),
        file="wan_lokr.safetensors", source=S + " (LyCORIS LoKr)")
    # HunyuanVideo LoRAs use the original HunyuanVideo module names (img_attn_qkv, img_mlp.fc1, img_mod.linear),
    # which comfy/lora.py maps onto ComfyUI's Flux-style names of the same modules
    _, hvt = comfy_model(HV, "HunyuanVideo")

    def hv_names(pairs):
        out = []
        for n, s_ in pairs:
            n = n.replace("_mod.lin", "_mod.linear").replace("_attn.qkv", "_attn_qkv").replace("_attn.proj", "_attn_proj")
            n = n.replace("mlp.0", "mlp.fc1").replace("mlp.2", "mlp.fc2").replace(".modulation.lin", ".modulation.linear")
            out.append((n, s_))
        return out
    hl = hv_names(_linear_shapes(hvt, r"double_blocks\.\d+\.(img|txt)_(attn\.(qkv|proj)|mlp\.(0|2))\.weight$|single_blocks\.\d+\.linear[12]\.weight$"))
    add("hunyuan-video-lora-musubi", E("loras", "hunyuan-video"), _lora_pairs(hl, "kohya", 32),
        file="hunyuan_style_lora.safetensors", source=src("comfy/lora.py", "HunyuanVideo key map; musubi/kohya naming"))
    hla = hv_names(_linear_shapes(hvt, r"double_blocks\.\d+\.(img|txt)_attn\.(qkv|proj)\.weight$"))
    add("hunyuan-video-lora-diffpipe-attn", E("loras", "hunyuan-video"), _lora_pairs(hla, "peft", 32),
        file="hyvid_lora_attn_only.safetensors", source=src("comfy/lora.py", "HunyuanVideo key map: diffusion-pipe transformer. format"))
    # Flux: ai-toolkit (diffusers names), XLabs, LoKr (LyCORIS on BFL names), DoRA (kohya), Chroma
    from diffusers import FluxTransformer2DModel
    fd = meta_sd(lambda: FluxTransformer2DModel(guidance_embeds=True))
    fdl = _linear_shapes(fd, r"transformer_blocks\.\d+\.(attn\.(to_q|to_k|to_v|to_out\.0|add_q_proj|add_k_proj|add_v_proj|to_add_out)|ff\.net\.(0\.proj|2)|ff_context\.net\.(0\.proj|2))\.weight$|single_transformer_blocks\.\d+\.(attn\.(to_q|to_k|to_v)|proj_mlp|proj_out)\.weight$")
    add("flux-lora-aitoolkit", E("loras", "flux"), _lora_pairs(fdl, "peft", 16),
        file="my_first_flux_lora_v1.safetensors", source="diffusers FluxTransformer2DModel (ai-toolkit / SimpleTuner: transformer. + lora_A/B)")
    _, dev = comfy_model(FLUX, "Flux")
    xl = []
    for i in range(19):
        for n, o, iw in (("qkv_lora1", 9216, 3072), ("proj_lora1", 3072, 3072), ("qkv_lora2", 9216, 3072), ("proj_lora2", 3072, 3072)):
            xl += [[f"double_blocks.{i}.processor.{n}.down.weight", "BF16", [16, iw]], [f"double_blocks.{i}.processor.{n}.up.weight", "BF16", [o, 16]]]
    add("flux-lora-xlabs", E("loras", "flux"), xl, file="realism_lora.safetensors",
        source="XLabs x-flux DoubleStreamBlockLoraProcessor names (converted by comfy/lora_convert.py)")
    fl = _linear_shapes(dev, r"double_blocks\.\d+\.(img|txt)_attn\.(qkv|proj)\.weight$|single_blocks\.\d+\.linear[12]\.weight$")
    add("flux-lokr", E("loras", "flux", "lokr"), _lora_pairs(fl, "lycoris", 16, kind="lokr"), file="flux_lokr_style.safetensors",
        source=src("comfy/ldm/flux/model.py", "LyCORIS LoKr on BFL names"))
    add("flux-dora-kohya", E("loras", "flux", "dora"), _lora_pairs(fl, "kohya", 16, kind="dora"), file="flux_dora.safetensors",
        source=src("comfy/ldm/flux/model.py", "kohya DoRA: dora_scale (comfy/weight_adapter/lora.py)"))
    add("flux-loha", E("loras", "flux", "loha"), _lora_pairs(fl, "lycoris", 8, kind="loha"), file="flux_loha.safetensors",
        source=src("comfy/ldm/flux/model.py", "LyCORIS LoHa"))
    chroma = dict({k: v for k, v in FLUX.items() if k not in ("vec_in_dim", "guidance_embed")}, image_model="chroma",
                  in_channels=64, out_channels=64, in_dim=64, out_dim=3072, hidden_dim=5120, n_layers=5)
    _, ch = comfy_model(chroma, "Chroma")
    cl = _linear_shapes(ch, r"double_blocks\.\d+\.(img|txt)_attn\.(qkv|proj)\.weight$|single_blocks\.\d+\.linear[12]\.weight$")
    add("chroma-lora", E("loras", "flux", None, decides=False, family_any=["flux", "chroma"]), _lora_pairs(cl, "comfy", 16),
        file="chroma_lora.safetensors", source=src("comfy/ldm/chroma/model.py", "same module names/shapes as Flux"))
    # SD3.5 Large / Medium LoRAs (diffusers naming; kohya naming on the MMDiT)
    from diffusers import SD3Transformer2DModel
    for name, layers, extra in (("large", 38, {}), ("medium", 24, {"dual_attention_layers": tuple(range(13))})):
        s3 = meta_sd(lambda: SD3Transformer2DModel(sample_size=128, patch_size=2, in_channels=16, num_layers=layers,
                                                   attention_head_dim=64, num_attention_heads=layers, joint_attention_dim=4096,
                                                   caption_projection_dim=64 * layers, pooled_projection_dim=2048,
                                                   out_channels=16, pos_embed_max_size=384, qk_norm="rms_norm", **extra))
        sl = _linear_shapes(s3, r"transformer_blocks\.\d+\.(attn2?\.(to_q|to_k|to_v|to_out\.0|add_q_proj|add_k_proj|add_v_proj|to_add_out))\.weight$")
        add(f"sd35-{name}-lora-diffusers", E("loras", "sd3.5", None, size=name), _lora_pairs(sl, "peft", 16, "F16"),
            file=f"sd35_{name}_lora.safetensors", source=f"diffusers SD3Transformer2DModel ({layers} layers) PEFT naming")
    mc, s35 = comfy_model(dict(in_channels=16, out_channels=16, patch_size=2, depth=38, input_size=None, adm_in_channels=2048,
                               context_embedder_config={"target": "torch.nn.Linear", "params": {"in_features": 4096, "out_features": 2432}},
                               num_patches=147456, pos_embed_max_size=384, pos_embed_scaling_factor=None, qk_norm="rms",
                               x_block_self_attn_layers=[]), "SD3")
    kl = _linear_shapes(s35, r"joint_blocks\.\d+\.(x_block|context_block)\.attn\.(qkv|proj)\.weight$")
    add("sd35-large-lora-kohya", E("loras", "sd3.5", None, size="large"), _lora_pairs(kl, "kohya", 16, "F16"),
        file="sd35L_kohya.safetensors", source=src("comfy/ldm/modules/diffusionmodules/mmdit.py", "kohya sd3 naming"))
    # Qwen-Image LoRA (diffusers naming of QwenImageTransformer2DModel = ComfyUI's module names)
    _, q = comfy_model(dict(image_model="qwen_image", in_channels=64, num_layers=60), "QwenImage")
    ql = _linear_shapes(q, r"transformer_blocks\.\d+\.(attn\.(to_q|to_k|to_v|add_q_proj|add_k_proj|add_v_proj|to_add_out|to_out\.0)|img_mlp\.net\.(0\.proj|2)|txt_mlp\.net\.(0\.proj|2))\.weight$")
    add("qwen-image-lora", E("loras", "qwen-image"), _lora_pairs(ql, "peft", 16), file="Qwen-Image-Lightning-8steps-V1.0.safetensors",
        source=src("comfy/ldm/qwen_image/model.py", "QwenImageTransformer2DModel, diffusers naming"))
    qa = _linear_shapes(q, r"transformer_blocks\.\d+\.attn\.(to_q|to_k|to_v|add_q_proj|add_k_proj|add_v_proj)\.weight$")
    add("qwen-image-lora-attn-comfy", E("loras", "qwen-image"), _lora_pairs(qa, "comfy", 8), file="qwen_lora_attn.safetensors",
        source=src("comfy/ldm/qwen_image/model.py", "attention-only, diffusion_model. naming"))
    # HiDream, Lumina 2, LTXV LoRAs
    hd = dict(image_model="hidream", attention_head_dim=128, axes_dims_rope=[64, 32, 32], caption_channels=[4096, 4096],
              max_resolution=[128, 128], in_channels=16, llama_layers=list(range(32)) + [31] * 16, num_attention_heads=20,
              num_routed_experts=4, num_activated_experts=2, num_layers=16, num_single_layers=32, out_channels=16,
              patch_size=2, text_emb_dim=2048)
    _, h = comfy_model(hd, "HiDream")
    hl = _linear_shapes(h, r"(double_stream_blocks|single_stream_blocks)\.\d+\.block\.attn1\.(to_q|to_k|to_v|to_out)\.weight$")
    add("hidream-lora", E("loras", "hidream"), _lora_pairs(hl, "comfy", 16), file="hidream_lora.safetensors",
        source=src("comfy/ldm/hidream/model.py", "diffusion_model. naming"))
    lum = dict(image_model="lumina2", patch_size=2, in_channels=16, dim=2304, cap_feat_dim=2304, n_layers=26, n_heads=24,
               n_kv_heads=8, qk_norm=True, axes_dims=[32, 32, 32], axes_lens=[300, 512, 512])
    _, l = comfy_model(lum, "Lumina2")
    lll = _linear_shapes(l, r"^layers\.\d+\.(attention\.(qkv|out)|feed_forward\.w[123])\.weight$")
    add("lumina2-lora", E("loras", "lumina2"), _lora_pairs(lll, "comfy", 16), file="lumina2_lora.safetensors",
        source=src("comfy/ldm/lumina/model.py", "NextDiT, diffusion_model. naming"))
    _, l2 = comfy_model(dict(image_model="ltxv", num_layers=28, attention_head_dim=64, cross_attention_dim=4096), "LTXV")
    ltl = _linear_shapes(l2, r"transformer_blocks\.\d+\.attn[12]\.(to_q|to_k|to_v|to_out\.0)\.weight$")
    add("ltxv-lora", E("loras", "ltxv", None, size="2b"), _lora_pairs(ltl, "comfy", 32), file="ltxv_lora.safetensors",
        source=src("comfy/ldm/lightricks/model.py", "LTXVModel, diffusion_model. naming"))
    # SDXL DoRA (kohya) and LoHa keep their base family
    import comfy.model_detection as md
    import comfy.ops
    import torch
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    cfg = md.unet_config_from_diffusers_unet(G.diffusers_unet("sdxl"))
    uxl = meta_model(lambda: UNetModel(**cfg, device="meta", operations=comfy.ops.disable_weight_init))
    xls = [(n, [m.out_features, m.in_features]) for n, m in uxl.named_modules()
           if isinstance(m, torch.nn.Linear) and re.search(r"transformer_blocks\.\d+\.attn[12]\.(to_q|to_k|to_v|to_out\.0)$", n)]
    add("sdxl-dora", E("loras", "sdxl", "dora"), _lora_pairs(xls, "kohya", 16, "F16", kind="dora"),
        file="sdxl_dora.safetensors", source=src("comfy/ldm/modules/diffusionmodules/openaimodel.py", "kohya DoRA"))
    # a PEFT DoRA on Flux (lora_magnitude_vector)
    add("flux-dora-peft", E("loras", "flux", "dora"), _lora_pairs(fdl, "peft", 8, kind="dora"),
        file="flux_dora_peft.safetensors", source="diffusers FluxTransformer2DModel, PEFT use_dora=True")


@step("control/adapters")
def gen_control():
    from diffusers import FluxControlNetModel, MotionAdapter, T2IAdapter
    # InstantX / Shakker Union Pro style Flux ControlNet (diffusers), XLabs Flux ControlNet (BFL names)
    fcn = meta_sd(lambda: FluxControlNetModel(num_layers=6, num_single_layers=0, num_mode=10))
    add("flux-controlnet-union-pro", E("controlnet", "flux"), tensors_of(fcn, "", "BF16"),
        file="diffusion_pytorch_model.safetensors", source="diffusers 0.42.1 FluxControlNetModel (Shakker Union Pro config)")
    fcn2 = meta_sd(lambda: FluxControlNetModel(num_layers=5, num_single_layers=10, num_mode=None))
    add("flux-controlnet-instantx-canny", E("controlnet", "flux"), tensors_of(fcn2, "", "BF16"),
        file="instantx_flux_canny.safetensors", source="diffusers FluxControlNetModel (InstantX canny config)")
    import comfy.controlnet  # noqa: F401  (load_controlnet_flux_xlabs_mistoline reads these names)
    import comfy.ops
    from comfy.ldm.flux.controlnet import ControlNetFlux
    xcfg = {k: v for k, v in FLUX.items() if k != "image_model"}
    xcfg.update(depth=2, depth_single_blocks=0)
    xc = meta_sd(lambda: ControlNetFlux(**xcfg, operations=comfy.ops.disable_weight_init, device="meta"))
    add("flux-controlnet-xlabs", E("controlnet", "flux"), tensors_of(xc, "", "BF16"), file="flux-canny-controlnet-v3.safetensors",
        source=src("comfy/ldm/flux/controlnet.py", "ControlNetFlux (XLabs layout)"))
    # XLabs Flux IP-Adapter: only x-flux-comfyui loads it (models/xlabs/ipadapters)
    t = [["ip_adapter_proj_model.proj.weight", "BF16", [4 * 4096, 768]], ["ip_adapter_proj_model.proj.bias", "BF16", [4 * 4096]],
         ["ip_adapter_proj_model.norm.weight", "BF16", [4096]], ["ip_adapter_proj_model.norm.bias", "BF16", [4096]]]
    for i in range(19):
        for n in ("k", "v"):
            t += [[f"double_blocks.{i}.processor.ip_adapter_double_stream_{n}_proj.weight", "BF16", [3072, 4096]],
                  [f"double_blocks.{i}.processor.ip_adapter_double_stream_{n}_proj.bias", "BF16", [3072]]]
    add("flux-ipadapter-xlabs", E("xlabs_ipadapters", "flux"), t, file="ip_adapter.safetensors",
        source="XLabs-AI/x-flux src/flux/modules/layers.py IPDoubleStreamBlockProcessor + ImageProjModel")
    # AnimateDiff motion modules, in the original (guoyww) key names AnimateDiff-Evolved loads
    for fam, chans, fname in (("sd1", (320, 640, 1280, 1280), "mm_sd_v15_v2.ckpt"), ("sdxl", (320, 640, 1280), "mm_sdxl_v10_beta.ckpt")):
        ma = meta_sd(lambda: MotionAdapter(block_out_channels=chans, motion_layers_per_block=2,
                                           motion_mid_block_layers_per_block=1, motion_num_attention_heads=8,
                                           motion_norm_num_groups=32, motion_max_seq_length=32,
                                           use_motion_mid_block=fam == "sd1"))
        t = []
        for k, v in ma.items():  # reverse of diffusers' convert_animatediff_motion_module_to_diffusers.py
            o = k.replace(".norm1.", ".norms.0.").replace(".norm2.", ".norms.1.").replace(".norm3.", ".ff_norm.")
            o = o.replace(".attn1.", ".attention_blocks.0.").replace(".attn2.", ".attention_blocks.1.")
            o = re.sub(r"(motion_modules\.\d+)\.", r"\1.temporal_transformer.", o)
            o = o.replace("temporal_transformer.transformer_blocks", "temporal_transformer.transformer_blocks")
            o = o.replace(".pos_embed.pe", ".pos_encoder.pe")
            t.append([o, "F16", list(v.shape)])
        add(f"animatediff-{fam}", E("animatediff_models", fam), t, kind="pickle-zip", file=fname,
            source="diffusers 0.42.1 MotionAdapter, keys mapped back to guoyww/AnimateDiff names (AnimateDiff-Evolved)")
    t2i = meta_sd(lambda: T2IAdapter(in_channels=3, channels=[320, 640, 1280], num_res_blocks=2, downscale_factor=16,
                                     adapter_type="full_adapter_xl"))
    add("sdxl-t2iadapter-sketch", E("controlnet", "sdxl", "t2i-adapter"), tensors_of(t2i, "", "F16"),
        file="t2i-adapter-sketch-sdxl-1.0.safetensors", source="diffusers T2IAdapter full_adapter_xl")
    from comfy.ldm.flux.redux import ReduxImageEncoder
    add("flux-redux-2025", E("style_models", "flux", "redux"), tensors_of(meta_sd(ReduxImageEncoder), "", "BF16"),
        file="flux1-redux-dev.safetensors", source=src("comfy/ldm/flux/redux.py", "ReduxImageEncoder"))


# ==============================================================================================
# GGUF: city96's ComfyUI-GGUF conversions (original key names, comfy.gguf.orig_shape for 5D) vs LLM GGUFs

def _gguf_tensors(sd: dict, qt: str = "Q8_0") -> tuple[list, dict]:
    t, kv = [], {}
    for k, v in sd.items():
        shape = list(v.shape)
        q = "F32" if v.dim() == 1 or "norm" in k else (qt if v.dim() == 2 and shape[-1] % 32 == 0 else "F16")
        if v.dim() > 4:  # GGUF holds at most 4 dims: city96's convert.py reshapes and records the original
            kv[f"comfy.gguf.orig_shape.{k}"] = shape
            shape = [shape[0], math.prod(shape[1:])]
        t.append([k, q, list(reversed(shape))])
    return t, kv


@step("gguf")
def gen_gguf():
    import gguf
    S = "city96/ComfyUI-GGUF tools/convert.py layout (original keys, general.architecture)"
    for arch, sd, exp, fname in (
        ("wan", wan("i2v-14b"), E("diffusion_models", "wan", "i2v", size="14b", precision="Q4_K_M"), "wan2.1-i2v-14b-480p-Q4_K_M.gguf"),
        ("wan", wan("ti2v-5b"), E("diffusion_models", "wan", "ti2v", size="5b", precision="Q8_0"), "Wan2.2-TI2V-5B-Q8_0.gguf"),
        ("hyvid", comfy_model(HV, "HunyuanVideo")[1], E("diffusion_models", "hunyuan-video", "t2v", precision="Q8_0"), "hunyuan-video-t2v-720p-Q8_0.gguf"),
        ("qwen_image", comfy_model(dict(image_model="qwen_image", in_channels=64, num_layers=60), "QwenImage")[1],
         E("diffusion_models", "qwen-image", precision="Q4_K_M"), "qwen-image-Q4_K_M.gguf"),
        ("ltxv", comfy_model(dict(image_model="ltxv", num_layers=48, attention_head_dim=128, cross_attention_dim=4096), "LTXV")[1],
         E("diffusion_models", "ltxv", size="13b", precision="Q8_0"), "ltxv-13b-0.9.7-dev-Q8_0.gguf"),
    ):
        ftype = {"Q8_0": 7, "Q4_K_M": 15}[exp["precision"]]
        t, kv = _gguf_tensors(sd, "Q8_0" if ftype == 7 else "Q4_K")
        kv.update({"general.architecture": arch, "general.quantization_version": 2, "general.file_type": ftype})
        add(f"gguf-{Path(fname).stem}", exp, t, kind="gguf", file=fname, kv=kv, source=S)
    # umt5-xxl encoder GGUF (city96/umt5-xxl-encoder-gguf): llama.cpp T5 names, arch t5encoder
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.T5ENCODER, 24)
    t = []
    for k, v in G.t5_enc("umt5-xxl").items():
        n = tmap.get_name(k, try_suffixes=(".weight", ".bias"))
        if n is not None:
            t.append([n, "F32" if v.dim() == 1 or "relative" in k else "Q8_0", list(reversed(v.shape))])
    add("gguf-umt5-xxl-Q8_0", E("text_encoders", "umt5", "xxl", precision="Q8_0"), t, kind="gguf", file="umt5-xxl-encoder-Q8_0.gguf",
        kv={"general.architecture": "t5encoder", "general.file_type": 7, "t5encoder.block_count": 24}, source=S)
    # LLM GGUFs: llama.cpp conversions with a chat template -> LLMs, with their size
    import transformers
    for arch, cls, ccls, cfg, fname, size in (
        ("qwen3", "Qwen3ForCausalLM", "Qwen3Config", dict(hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
         num_attention_heads=32, num_key_value_heads=8, head_dim=128, vocab_size=151936, tie_word_embeddings=True), "Qwen3-4B-Q4_K_M.gguf", "4b"),
        ("gemma3", "Gemma3ForCausalLM", "Gemma3TextConfig", dict(hidden_size=1152, intermediate_size=6912, num_hidden_layers=26,
         num_attention_heads=4, num_key_value_heads=1, head_dim=256, vocab_size=262144), "gemma-3-1b-it-Q8_0.gguf", "1b"),
    ):
        model = meta_model(lambda: getattr(transformers, cls)(getattr(transformers, ccls)(**cfg)))
        arch_enum = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch)
        tm = gguf.get_tensor_name_map(arch_enum, cfg["num_hidden_layers"])
        t = []
        tied = model.config.get_text_config().tie_word_embeddings
        for k, v in model.state_dict().items():
            if tied and k == "lm_head.weight":
                continue  # llama.cpp writes no output.weight for tied embeddings
            n = tm.get_name(k, try_suffixes=(".weight", ".bias"))
            if n is not None:
                t.append([n, "F32" if v.dim() == 1 else "Q8_0", list(reversed(v.shape))])
        kv = {"general.architecture": arch, "general.name": Path(fname).stem, "general.file_type": 7 if "Q8" in fname else 15,
              f"{arch}.block_count": cfg["num_hidden_layers"], f"{arch}.embedding_length": cfg["hidden_size"],
              "tokenizer.ggml.model": "gpt2", "tokenizer.chat_template": "{% for message in messages %}...{% endfor %}"}
        add(f"gguf-{Path(fname).stem}", E(None, arch, None, model_type="llm", size=size,
                                        precision="Q8_0" if "Q8" in fname else "Q4_K_M"),
            t, kind="gguf", file=fname, kv=kv, vocab=cfg["vocab_size"], source=f"transformers {cls} -> gguf {arch} tensor names")


@step("llm releases vs encoders")
def gen_llm_vs_te():
    import gguf
    import transformers
    from transformers import Gemma2Config, Gemma2ForCausalLM
    # google/gemma-2-2b as released: a transformers folder (config, tokenizer, generation config); tied
    # embeddings, so no lm_head in the weights - the same tensors as Lumina 2's gemma_2_2b encoder
    gcfg = dict(hidden_size=2304, intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8,
                num_key_value_heads=4, head_dim=256, vocab_size=256000)
    g = [x for x in tensors_of(meta_sd(lambda: Gemma2ForCausalLM(Gemma2Config(**gcfg))), "", "BF16") if x[0] != "lm_head.weight"]
    members = {"config.json": {"json": {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", **gcfg}},
               "generation_config.json": {"json": {"bos_token_id": 2}}, "tokenizer.json": {"text": "{}"}}
    members.update(G._shard(g, 2, "model"))
    add("folder-gemma-2-2b-release", E(None, "gemma2", None, model_type="llm", size="2.6b"), None, kind="folder",
        file="gemma-2-2b", members=members,
        source="transformers 5.24.0 Gemma2ForCausalLM (google/gemma-2-2b config), save_pretrained drops the tied lm_head")
    # llama.cpp GGUFs of the Llama 3 8B network: a chat model (output head + chat template) vs
    # city96's llava-llama3 text-encoder conversion (neither), which ComfyUI-GGUF's CLIPLoaderGGUF loads
    cfg = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=8, vocab_size=128256)
    model = meta_model(lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(**cfg)))
    tm = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 32)
    full = []
    for k, v in model.state_dict().items():
        n = tm.get_name(k, try_suffixes=(".weight", ".bias"))
        if n is not None:
            full.append([n, "F32" if v.dim() == 1 else "Q4_K", list(reversed(v.shape))])
    kv = {"general.architecture": "llama", "general.file_type": 15, "llama.block_count": 32, "llama.embedding_length": 4096,
          "tokenizer.ggml.model": "gpt2"}
    add("gguf-llama-3.1-8b-instruct", E(None, "llama", None, model_type="llm", size="8b", precision="Q4_K_M"), full,
        kind="gguf", file="Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", vocab=cfg["vocab_size"],
        kv=dict(kv, **{"general.name": "Meta Llama 3.1 8B Instruct", "tokenizer.chat_template": "{{ bos_token }}..."}),
        source="transformers LlamaForCausalLM -> gguf llama tensor names, with output.weight and a chat template")
    enc = [x for x in full if not x[0].startswith("output.")]
    add("gguf-llava-llama3-encoder", E("text_encoders", "llama3-8b", None, precision="Q4_K_M"), enc, kind="gguf",
        file="llava-llama-3-8B-v1_1-Q4_K_M.gguf", vocab=cfg["vocab_size"], kv=dict(kv, **{"general.name": "llava-llama-3-8B-v1_1"}),
        source="city96/llava-llama-3-8B-v1_1-gguf layout: llama tensor names, no output head, no chat template")


def _try(name, fn):
    """One layout whose class may not build on meta: reported and skipped, never half-written."""
    n0 = len(G.LAYOUTS)
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        del G.LAYOUTS[n0:]
        G.FAILED.append(f"{name}: {type(e).__name__}: {e}")
        print(f"FAIL {name}: {e}", flush=True)


@step("more dits")
def gen_more_dits():
    S = src("comfy/ldm/wan/model.py")
    import torch

    def hv_released():
        # HunyuanVideo files (Tencent's release, Comfy-Org's repack) keep the original module names, which
        # HunyuanVideo.process_unet_state_dict renames at load time: invert that, and check the round trip
        mc, sd = comfy_model(HV, "HunyuanVideo")
        inv = [("mlp.0.", "mlp.fc1."), ("mlp.2.", "mlp.fc2."),  # first: the embedders' own mlp.N are renamed below
               ("txt_in.t_embedder.in_layer.", "txt_in.t_embedder.mlp.0."), ("txt_in.t_embedder.out_layer.", "txt_in.t_embedder.mlp.2."),
               ("txt_in.c_embedder.in_layer.", "txt_in.c_embedder.linear_1."), ("txt_in.c_embedder.out_layer.", "txt_in.c_embedder.linear_2."),
               ("_mod.lin.", "_mod.linear."), ("_attn.qkv.", "_attn_qkv."), ("_attn.norm.query_norm.scale", "_attn_q_norm.weight"),
               ("_attn.norm.key_norm.scale", "_attn_k_norm.weight"), (".norm.query_norm.scale", ".q_norm.weight"),
               (".norm.key_norm.scale", ".k_norm.weight"), ("_attn.proj.", "_attn_proj."), (".modulation.lin.", ".modulation.linear."),
               ("_in.out_layer.", "_in.mlp.2."), ("_in.in_layer.", "_in.mlp.0.")]
        out = {}
        for k, v in sd.items():
            o = k
            for a, b in inv:
                o = o.replace(a, b)
            out[o] = v
        back = set(mc.process_unet_state_dict(dict(out)))
        assert back == set(sd), (sorted(back - set(sd))[:5], sorted(set(sd) - back)[:5])
        add("hunyuan-video-t2v-released", E("diffusion_models", "hunyuan-video", "t2v"), tensors_of(out, "", "BF16"),
            file="hunyuan_video_t2v_720p_bf16.safetensors",
            source=src("comfy/supported_models.py", "HunyuanVideo.process_unet_state_dict inverted: the release's own names"))

    def cascade_released():
        # Stable Cascade stage C as released: nn.MultiheadAttention's fused in_proj, split by ComfyUI at load time
        mc, sd = comfy_model(dict(stable_cascade_stage="c", c_cond=2048), "Stable_Cascade_C")
        out = {}
        for k, v in sd.items():
            m = re.match(r"(.*)\.to_([qkv])\.(weight|bias)$", k)
            if not m:
                out[k] = v
            elif m.group(2) == "q":
                out[f"{m.group(1)}.in_proj_{m.group(3)}"] = torch.empty((v.shape[0] * 3, *v.shape[1:]), device="meta")
        back = mc.process_unet_state_dict({k: torch.empty(v.shape) if "in_proj" in k else v for k, v in out.items()})
        assert set(back) == set(sd)
        add("cascade-c-released", E("diffusion_models", "cascade", "stage_c"), tensors_of(out, "", "BF16"),
            file="stable_cascade_stage_c.safetensors",
            source=src("comfy/supported_models.py", "Stable_Cascade_C.process_unet_state_dict inverted (fused in_proj)"))

    def camera():
        _, sd = comfy_model(dict(WAN, **W14, model_type="camera", in_dim=32), "WAN21_Camera")
        add("wan21-fun-camera-14b", E("diffusion_models", "wan", "camera", size="14b"), fp8(sd),
            file="wan2.1_fun_camera_v1.1_14B_fp8.safetensors", source=S + " CameraWanModel (control_adapter)")

    def s2v():
        _, sd = comfy_model(dict(WAN, **W14, model_type="s2v", in_dim=16), "WAN22_S2V")
        add("wan22-s2v-14b", E("diffusion_models", "wan", "s2v", size="14b"), fp8(sd),
            file="wan2.2_s2v_14B_fp8_scaled.safetensors", source=S + " WanModel_S2V (casual_audio_encoder)")

    def animate():
        _, sd = comfy_model(dict(WAN, **W14, model_type="animate", in_dim=36), "WAN22_Animate")
        add("wan22-animate-14b", E("diffusion_models", "wan", "animate", size="14b"), fp8(sd),
            file="Wan2_2-Animate-14B_fp8.safetensors", source=S + " AnimateWanModel (face_adapter)")

    def radiance():
        cfg = dict({k: v for k, v in FLUX.items() if k not in ("vec_in_dim", "guidance_embed")}, image_model="chroma_radiance",
                   in_channels=3, out_channels=3, patch_size=16, in_dim=64, out_dim=3072, hidden_dim=5120, n_layers=5,
                   nerf_hidden_size=64, nerf_mlp_ratio=4, nerf_depth=4, nerf_max_freqs=8, nerf_tile_size=32,
                   nerf_final_head_type="conv", nerf_embedder_dtype=None)
        _, sd = comfy_model(cfg, "ChromaRadiance")
        add("chroma-radiance", E("diffusion_models", "chroma", "radiance"), tensors_of(sd, "", "BF16"),
            file="chroma-radiance-x0.safetensors", source=src("comfy/ldm/chroma_radiance/model.py", "ChromaRadiance (nerf_blocks)"))

    def hyimage():
        cfg = dict(HV, in_channels=64, out_channels=64, patch_size=[1, 1], vec_in_dim=None, axes_dim=[64, 64],
                   context_in_dim=3584, hidden_size=3584, num_heads=28, depth=20, depth_single_blocks=40,
                   guidance_embed=False, byt5=True)
        _, sd = comfy_model(cfg, "HunyuanImage21")
        add("hunyuan-image-2.1", E("diffusion_models", "hunyuan-image"), fp8(sd),
            file="hunyuanimage2.1_bf16.safetensors", source=src("comfy/ldm/hunyuan_video/model.py", "HunyuanVideo with 2D patches"))

    def cosmos1():
        cfg = dict(image_model="cosmos", max_img_h=240, max_img_w=240, max_frames=128, in_channels=16, out_channels=16,
                   patch_spatial=2, patch_temporal=1, model_channels=4096, block_config="FA-CA-MLP", concat_padding_mask=True,
                   pos_emb_cls="rope3d", pos_emb_learnable=False, pos_emb_interpolation="crop", block_x_format="THWBD",
                   affline_emb_norm=True, use_adaln_lora=True, adaln_lora_dim=256, num_blocks=28, num_heads=32,
                   extra_per_block_abs_pos_emb=True, rope_h_extrapolation_ratio=1.0, rope_w_extrapolation_ratio=1.0,
                   rope_t_extrapolation_ratio=2.0, extra_per_block_abs_pos_emb_type="learnable")
        _, sd = comfy_model(cfg, "CosmosT2V")
        add("cosmos1-7b-t2v", E("diffusion_models", "cosmos", "t2v", size="7b"), tensors_of(sd, "", "BF16"),
            file="Cosmos-1_0-Diffusion-7B-Text2World.safetensors", source=src("comfy/ldm/cosmos/model.py", "GeneralDIT"))

    for name, fn in (("hunyuan video released", hv_released), ("cascade released", cascade_released), ("wan camera", camera), ("wan s2v", s2v), ("wan animate", animate), ("chroma radiance", radiance),
                     ("hunyuan image 2.1", hyimage), ("cosmos 1.0", cosmos1)):
        _try(name, fn)
    # Mochi's VAE decoder alone (genmo's release splits encoder and decoder)
    import comfy.ldm.genmo.vae.model as gm
    dec = {k[len("decoder."):]: v for k, v in meta_sd(gm.VideoVAE).items() if k.startswith("decoder.")}
    add("mochi-vae-decoder", E("vae", "mochi"), tensors_of(dec, "", "BF16"), file="decoder.safetensors",
        source=src("comfy/ldm/genmo/vae/model.py", "VideoVAE.decoder (sd.py 'blocks.2.blocks.3.stack.5.weight')"))


@step("more loras")
def gen_more_loras():
    from diffusers import (
        FluxTransformer2DModel,
        HunyuanVideoTransformer3DModel,
        Lumina2Transformer2DModel,
        QwenImageControlNetModel,
    )
    # OneTrainer: lora_transformer_ + diffusers module names with "_" (comfy/lora.py Flux key map)
    fd = meta_sd(lambda: FluxTransformer2DModel(guidance_embeds=True))
    ot = _linear_shapes(fd, r"transformer_blocks\.\d+\.(attn\.(to_q|to_k|to_v|to_out\.0|add_q_proj|add_k_proj|add_v_proj|to_add_out)|norm1\.linear|norm1_context\.linear)\.weight$|single_transformer_blocks\.\d+\.(attn\.(to_q|to_k|to_v)|proj_mlp|proj_out|norm\.linear)\.weight$")
    t = []
    for n, (o, i) in ot:
        b = "lora_transformer_" + n.replace(".", "_")
        t += [[b + ".lora_down.weight", "F32", [16, i]], [b + ".lora_up.weight", "F32", [o, 16]], [b + ".alpha", "F32", []]]
    add("flux-lora-onetrainer", E("loras", "flux"), t, file="onetrainer_flux_lora.safetensors",
        source="diffusers FluxTransformer2DModel names, OneTrainer lora_transformer_ prefix (comfy/lora.py)")
    # SimpleTuner LyCORIS LoKr on HiDream: lycoris_ + ComfyUI/diffusers module names with "_"
    hd = dict(image_model="hidream", attention_head_dim=128, axes_dims_rope=[64, 32, 32], caption_channels=[4096, 4096],
              max_resolution=[128, 128], in_channels=16, llama_layers=list(range(32)) + [31] * 16, num_attention_heads=20,
              num_routed_experts=4, num_activated_experts=2, num_layers=16, num_single_layers=32, out_channels=16,
              patch_size=2, text_emb_dim=2048)
    _, h = comfy_model(hd, "HiDream")
    hl = _linear_shapes(h, r"(double_stream_blocks|single_stream_blocks)\.\d+\.block\.attn1\.(to_q|to_k|to_v|to_out)\.weight$")
    add("hidream-lokr-simpletuner", E("loras", "hidream", "lokr"), _lora_pairs(hl, "lycoris", 16, kind="lokr"),
        file="hidream_lokr.safetensors", source=src("comfy/lora.py", "HiDream key map: SimpleTuner lycoris_ format"))
    # finetrainers / diffusers HunyuanVideo LoRA (transformer. + diffusers names: 20 double + 40 single blocks)
    hv = meta_sd(lambda: HunyuanVideoTransformer3DModel())
    hl = _linear_shapes(hv, r"(single_)?transformer_blocks\.\d+\.attn\.(to_q|to_k|to_v)\.weight$")
    add("hunyuan-video-lora-diffusers", E("loras", "hunyuan-video"), _lora_pairs(hl, "peft", 32),
        file="pytorch_lora_weights.safetensors", source="diffusers 0.42.1 HunyuanVideoTransformer3DModel, PEFT naming")
    # diffusers Lumina 2 LoRA (layers.N.attn.to_q, 2304 wide)
    lu = meta_sd(lambda: Lumina2Transformer2DModel())
    ll = _linear_shapes(lu, r"^layers\.\d+\.attn\.(to_q|to_k|to_v|to_out\.0)\.weight$")
    add("lumina2-lora-diffusers", E("loras", "lumina2"), _lora_pairs(ll, "peft", 16), file="lumina2_diffusers_lora.safetensors",
        source="diffusers 0.42.1 Lumina2Transformer2DModel, PEFT naming")
    # official Mochi and ACE-Step LoRA formats (comfy/lora.py: bare module names)
    mochi_cfg = dict(image_model="mochi_preview", depth=48, patch_size=2, num_heads=24, hidden_size_x=3072,
                     hidden_size_y=1536, mlp_ratio_x=4.0, mlp_ratio_y=4.0, learn_sigma=False, in_channels=12,
                     qk_norm=True, qkv_bias=False, out_bias=True, attn_drop=0.0, patch_embed_bias=True,
                     posenc_preserve_area=True, timestep_mlp_bias=True, attend_to_padding=False,
                     timestep_scale=1000.0, use_t5=True, t5_feat_dim=4096, t5_token_length=256, rope_theta=10000.0)
    _, mo = comfy_model(mochi_cfg, "GenmoMochi")
    ml = _linear_shapes(mo, r"blocks\.\d+\.attn\.(qkv_x|proj_x)\.weight$")
    add("mochi-lora", E("loras", "mochi"), _lora_pairs(ml, "bare", 16), file="mochi_lora.safetensors",
        source=src("comfy/lora.py", "GenmoMochi key map: official Mochi LoRA format"))
    import comfy.model_detection as md
    mca = md.model_config_from_unet_config(md.detect_unet_config({"genre_embedder.weight": None}, ""))
    ace = mca.get_model({}, device="meta").diffusion_model.state_dict()
    al = _linear_shapes(ace, r"transformer_blocks\.\d+\.attn\.(to_q|to_k|to_v|to_out\.0)\.weight$")
    add("ace-step-lora", E("loras", "ace-step", None, model_type="audio"), _lora_pairs(al, "bare", 16),
        file="ace_step_rap_lora.safetensors", source=src("comfy/lora.py", "ACEStep key map: official ACE-Step LoRA format"))
    # HunyuanVideo LoRA on ComfyUI's own (Flux-style) module names, modulation included: only the block
    # count (20 double + 40 single) tells it from a Flux LoRA
    _, hvt = comfy_model(HV, "HunyuanVideo")
    hl = _linear_shapes(hvt, r"double_blocks\.\d+\.(img|txt)_(attn\.(qkv|proj)|mod\.lin)\.weight$|single_blocks\.\d+\.(linear[12]|modulation\.lin)\.weight$")
    add("hunyuan-video-lora-comfy-names", E("loras", "hunyuan-video"), _lora_pairs(hl, "comfy", 16),
        file="hv_lora_comfy.safetensors", source=src("comfy/ldm/hunyuan_video/model.py", "ComfyUI module names, diffusion_model."))
    # Qwen-Image ControlNet (InstantX, diffusers)
    qc = meta_sd(lambda: QwenImageControlNetModel(num_layers=5))
    add("qwen-image-controlnet-instantx", E("controlnet", "qwen-image"), tensors_of(qc, "", "BF16"),
        file="Qwen-Image-InstantX-ControlNet-Union.safetensors", source="diffusers 0.42.1 QwenImageControlNetModel (5 layers)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--comfy", default="/tmp/comfy")
    ap.add_argument("--out", default=str(HERE / "layouts_2025.json.gz"))
    ap.add_argument("--torchvision-src", default="", help="an unpacked torchvision wheel (pip download torchvision "
                    "--no-deps; unzip): its Python model code gives Stable Cascade's EfficientNet encoder")
    a = ap.parse_args()
    import diffusers  # noqa: F401  (both decide "is torchvision available" once, before the stub exists)
    import transformers.utils.import_utils  # noqa: F401
    if a.torchvision_src:
        _torchvision_sources(a.torchvision_src)
    _stub_optional_imports()
    sys.path.insert(0, a.comfy)
    import comfy.options
    comfy.options.enable_args_parsing()
    sys.argv = [sys.argv[0], "--cpu"]
    import comfy.cli_args  # noqa: F401
    G._init_dtypes()
    steps = [gen_wan, gen_video, gen_image, gen_vaes, gen_text_encoders, gen_audio, gen_loras, gen_control, gen_gguf,
             gen_llm_vs_te, gen_more_dits, gen_more_loras]
    for fn in steps:
        fn()
    ids = [l["id"] for l in G.LAYOUTS]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, dup
    data = {"generator": "tests/corpus/generate_2025.py", "layouts": G.LAYOUTS, "failed": G.FAILED}
    with gzip.open(a.out, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"{len(G.LAYOUTS)} layouts -> {a.out} ({os.path.getsize(a.out)} bytes); failed: {len(G.FAILED)}")
    for f in G.FAILED:
        print("  ", f)


if __name__ == "__main__":
    main()
