"""The public names identification speaks: maps, filters and the CLI use exactly these strings.

Changing a value here is an API change (library metadata stores them).
"""

from __future__ import annotations

# model_type: coarse kind. "diffusion" covers everything an image/video pipeline loads.
DIFFUSION = "diffusion"
LLM = "llm"
AUDIO = "audio"
VISION = "vision"
UPSCALER = "upscaler"
UNKNOWN = "unknown"
MODEL_TYPES = (DIFFUSION, LLM, AUDIO, VISION, UPSCALER, UNKNOWN)

# subtype: the ComfyUI folder key a model belongs in (reference.md section 1).
CHECKPOINTS = "checkpoints"
DIFFUSION_MODELS = "diffusion_models"
LORAS = "loras"
VAE = "vae"
VAE_APPROX = "vae_approx"
TEXT_ENCODERS = "text_encoders"
CLIP_VISION = "clip_vision"
CONTROLNET = "controlnet"
EMBEDDINGS = "embeddings"
UPSCALE_MODELS = "upscale_models"
FACERESTORE_MODELS = "facerestore_models"  # custom-node folder (facerestore_cf); spandrel "FaceSR"
IPADAPTER = "ipadapter"
STYLE_MODELS = "style_models"
HYPERNETWORKS = "hypernetworks"
DIFFUSERS = "diffusers"
SAMS = "sams"
ULTRALYTICS_BBOX = "ultralytics_bbox"
ULTRALYTICS_SEGM = "ultralytics_segm"
AUDIO_ENCODERS = "audio_encoders"
GLIGEN = "gligen"
# custom-node folders: files only that node loads (the default ComfyUI map gives each a rule)
ANIMATEDIFF_MODELS = "animatediff_models"  # ComfyUI-AnimateDiff-Evolved: models/animatediff_models
ANIMATEDIFF_MOTION_LORA = "animatediff_motion_lora"  # ComfyUI-AnimateDiff-Evolved: models/animatediff_motion_lora
XLABS_IPADAPTERS = "xlabs_ipadapters"  # x-flux-comfyui: models/xlabs/ipadapters
XLABS_LORAS = "xlabs_loras"  # x-flux-comfyui: models/xlabs/loras (ComfyUI's own LoraLoader converts XLabs LoRAs too)
SUBTYPES = (CHECKPOINTS, DIFFUSION_MODELS, LORAS, VAE, VAE_APPROX, TEXT_ENCODERS, CLIP_VISION, CONTROLNET,
            EMBEDDINGS, UPSCALE_MODELS, FACERESTORE_MODELS, IPADAPTER, STYLE_MODELS, HYPERNETWORKS, DIFFUSERS,
            SAMS, ULTRALYTICS_BBOX, ULTRALYTICS_SEGM, AUDIO_ENCODERS, GLIGEN, ANIMATEDIFF_MODELS,
            ANIMATEDIFF_MOTION_LORA, XLABS_IPADAPTERS, XLABS_LORAS)

# family: diffusion bases (LoRAs, ControlNets, VAEs... carry the family of their base)
SD1 = "sd1"
SD2 = "sd2"
SDXL = "sdxl"
SDXL_REFINER = "sdxl-refiner"
SD3 = "sd3"
SD35 = "sd3.5"
FLUX = "flux"
CHROMA = "chroma"
AURAFLOW = "auraflow"
PIXART = "pixart"
HUNYUAN_DIT = "hunyuan-dit"
HUNYUAN_VIDEO = "hunyuan-video"
HUNYUAN_IMAGE = "hunyuan-image"
WAN = "wan"
LTXV = "ltxv"
LUMINA2 = "lumina2"
QWEN_IMAGE = "qwen-image"
CASCADE = "cascade"
HIDREAM = "hidream"
MOCHI = "mochi"
COSMOS = "cosmos"
COGVIDEOX = "cogvideox"
SANA = "sana"
KOLORS = "kolors"
OMNIGEN2 = "omnigen2"
HUNYUAN3D = "hunyuan3d"
FLUX2 = "flux2"
STABLE_AUDIO = "stable-audio"
ACE_STEP = "ace-step"
DIFFUSION_FAMILIES = (SD1, SD2, SDXL, SDXL_REFINER, SD3, SD35, FLUX, CHROMA, AURAFLOW, PIXART, HUNYUAN_DIT,
                      HUNYUAN_VIDEO, HUNYUAN_IMAGE, WAN, LTXV, LUMINA2, QWEN_IMAGE, CASCADE, HIDREAM, MOCHI, COSMOS, COGVIDEOX,
                      SANA, KOLORS, OMNIGEN2, HUNYUAN3D, FLUX2, STABLE_AUDIO, ACE_STEP)

# family: encoders
CLIP_L = "clip-l"
CLIP_H = "clip-h"
CLIP_G = "clip-g"
T5 = "t5"
UMT5 = "umt5"
CLIP_VIT_L = "clip-vit-l"
CLIP_VIT_H = "clip-vit-h"
CLIP_VIT_G = "clip-vit-g"
SIGLIP = "siglip"
WAV2VEC2 = "wav2vec2"
# LLM-shaped text encoders, named as ComfyUI's detect_te_model names them (comfy/sd.py TEModel)
LLAMA3_8B = "llama3-8b"  # HunyuanVideo (llava-llama3), HiDream (Llama 3.1 8B Instruct)
QWEN25_VL_7B = "qwen2.5-vl-7b"  # Qwen-Image
QWEN25_3B = "qwen2.5-3b"  # OmniGen2
GEMMA2_2B = "gemma2-2b"  # Lumina 2
GEMMA3_4B = "gemma3-4b"
QWEN3_4B = "qwen3-4b"
ENCODER_FAMILIES = (CLIP_L, CLIP_H, CLIP_G, T5, UMT5, CLIP_VIT_L, CLIP_VIT_H, CLIP_VIT_G, "clip-vit-b", SIGLIP, WAV2VEC2,
                    LLAMA3_8B, QWEN25_VL_7B, QWEN25_3B, GEMMA2_2B, GEMMA3_4B, QWEN3_4B)
# upscalers and other non-diffusion families rules.py names (spandrel's architecture ids, SAM, YOLO)
OTHER_FAMILIES = ("esrgan", "compact", "hat", "atd", "drct", "swin2sr", "swinir", "rgt", "dat", "span", "omnisr",
                  "realcugan", "plksr", "safmn", "rcan", "ditn", "mosr", "gfpgan", "codeformer", "restoreformer",
                  "sam", "yolo", "clip")
FAMILIES = DIFFUSION_FAMILIES + ENCODER_FAMILIES + OTHER_FAMILIES
# LLM families are llama.cpp / transformers architecture names (llama, qwen2, qwen3, gemma2, gemma3, phi3...):
# open-ended, not listed here.

# variants the header decides
INPAINT = "inpaint"
DEV = "dev"
SCHNELL = "schnell"
FILL = "fill"
LOHA = "loha"
LOKR = "lokr"
LOCON = "locon"
DORA = "dora"
# task / edition variants of the video and image DiTs
T2V, I2V, TI2V, FLF2V, VACE, T2I = "t2v", "i2v", "ti2v", "flf2v", "vace", "t2i"
CONTROL = "control"  # Flux Depth/Canny dev: 64 image + 64 control-image channels in img_in
VARIANTS = (INPAINT, "depth", "instruct-pix2pix", "x4-upscaler", DEV, SCHNELL, FILL, CONTROL, "redux", LOHA, LOKR,
            LOCON, DORA, T2V, I2V, TI2V, FLF2V, VACE, T2I, "s2v", "humo", "animate", "camera", "large", "medium",
            "alpha", "sigma", "radiance", "stage_a", "stage_b", "stage_c", "effnet", "2.1", "2.2", "base", "xl", "xxl", "small",
            "plus", "faceid", "t2i-adapter", "vit_b", "vit_l", "vit_h")
# upscalers add "<N>x" (the scale the header decides)

# size: the parameter class of a model (or, for an adapter, of the base it applies to) where the
# shapes decide it: Wan "1.3b"/"5b"/"14b", LTX-Video "2b"/"13b", SD3.5 "large"/"medium", LLMs "8b"...

# formats (sniffed from magic bytes, never from the extension)
SAFETENSORS = "safetensors"
GGUF = "gguf"
PICKLE = "pickle"
ZIP_PICKLE = "zip-pickle"
ONNX = "onnx"
DIFFUSERS_FOLDER = "diffusers-folder"
TRANSFORMERS_FOLDER = "transformers-folder"
SHARDED_SET = "sharded-set"
PEFT_FOLDER = "peft-folder"
FOLDER = "folder"

# safetensors dtype -> precision name
PRECISION_OF_DTYPE = {
    "F64": "fp64", "F32": "fp32", "F16": "fp16", "BF16": "bf16",
    "F8_E4M3": "fp8_e4m3fn", "F8_E4M3FN": "fp8_e4m3fn", "F8_E5M2": "fp8_e5m2",
    "I8": "int8", "U8": "uint8", "I16": "int16", "I32": "int32", "I64": "int64", "BOOL": "bool",
    "F4": "fp4", "F6_E2M3": "fp6", "F6_E3M2": "fp6", "F8_E8M0": "fp8_e8m0",
}
