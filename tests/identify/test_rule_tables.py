"""The LoRA-base and T2I-Adapter tables of identify/rules.py, through real safetensors files.

The corpora hold no LoRA of OmniGen2, HunyuanDiT or ACE-Step and no one-channel T2I-Adapter:
each table row is checked here from a header written to disk and read back by identify_path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.identify import identify_path
from pumasfs.identify.rules import _BLOCK_NAMES, LORA_BASES
from pumasfs.sample.samples import write_safetensors


def _lora(tmp_path: Path, key: str, width: int) -> tuple[str | None, list[str]]:
    """A two-tensor LoRA on ``key`` whose down half reads ``width`` inputs."""
    p = write_safetensors(tmp_path / "lora.safetensors", {
        f"{key}.lora_A.weight": ("F16", [16, width]), f"{key}.lora_B.weight": ("F16", [width, 16])})
    rec = identify_path(p)
    assert rec.subtype == "loras"
    return rec.family, rec.evidence


@pytest.mark.parametrize(("key", "width", "family"), [
    ("transformer.layers.0.attn.to_q", 2304, "lumina2"),
    ("transformer.layers.0.attn.to_q", 2520, "omnigen2"),
    ("transformer.transformer_blocks.0.attn.to_q", 2560, "ace-step"),
    ("transformer.transformer_blocks.0.attn1.to_q", 1408, "hunyuan-dit"),
    ("transformer.transformer_blocks.0.attn1.to_q", 2240, "sana"),
    ("transformer.blocks.0.attn1.to_q", 5120, "wan"),
])
def test_lora_base_told_by_width(tmp_path: Path, key: str, width: int, family: str) -> None:
    fam, evidence = _lora(tmp_path, key, width)
    assert fam == family, evidence
    assert any(str(width) in e for e in evidence), evidence  # the width that decided is named


def test_lora_base_width_outside_the_tables_is_not_guessed(tmp_path: Path) -> None:
    fam, _ = _lora(tmp_path, "transformer.layers.0.attn.to_q", 2000)  # neither Lumina 2 nor OmniGen2
    assert fam is None


def test_lora_base_rules_unless_a_unet_is_around(tmp_path: Path) -> None:
    # attn1 under down_blocks is a UNet's: the DiT width table must not claim it
    p = write_safetensors(tmp_path / "unet.safetensors", {
        "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight": ("F16", [4, 1408]),
        "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": ("F16", [4, 2048])})
    assert identify_path(p).family == "sdxl"


def test_block_name_markers_are_unique() -> None:
    markers = [m for m, _ in _BLOCK_NAMES]
    assert len(markers) == len(set(markers))  # looked up by marker: a repeated one would hide a family
    assert all(rule.markers for rule in LORA_BASES)


@pytest.mark.parametrize(("channels", "family", "ambiguous"), [
    (192, "sd1", ("sd1", "sd2")), (64, "sd1", ("sd1", "sd2")), (768, "sdxl", ()), (256, None, ()),
])
def test_t2i_adapter_family_from_its_input_channels(tmp_path: Path, channels: int, family: str | None,
                                                    ambiguous: tuple[str, ...]) -> None:
    p = write_safetensors(tmp_path / "t2i.safetensors", {
        "adapter.conv_in.weight": ("F16", [320, channels, 3, 3]),
        "adapter.body.0.resnets.0.block1.weight": ("F16", [320, 320, 3, 3])})
    rec = identify_path(p)
    assert (rec.subtype, rec.family, rec.variant) == ("controlnet", family, "t2i-adapter"), rec.evidence
    said = [w for w in rec.warnings if "could be any of" in w]  # what the header cannot tell apart
    assert said == ([f"family assumed {family}; could be any of {', '.join(ambiguous)}"] if ambiguous else [])
