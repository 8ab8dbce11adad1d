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
SUBTYPES = (CHECKPOINTS, DIFFUSION_MODELS, LORAS, VAE, VAE_APPROX, TEXT_ENCODERS, CLIP_VISION, CONTROLNET,
            EMBEDDINGS, UPSCALE_MODELS, FACERESTORE_MODELS, IPADAPTER, STYLE_MODELS, HYPERNETWORKS, DIFFUSERS,
            SAMS, ULTRALYTICS_BBOX, ULTRALYTICS_SEGM)

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
WAN = "wan"
LTXV = "ltxv"
LUMINA2 = "lumina2"
QWEN_IMAGE = "qwen-image"
CASCADE = "cascade"
HIDREAM = "hidream"

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

# variants the header decides
INPAINT = "inpaint"
DEV = "dev"
SCHNELL = "schnell"
FILL = "fill"
LOHA = "loha"
LOKR = "lokr"
LOCON = "locon"

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
