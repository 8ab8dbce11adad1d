"""The identification record: what one file or folder is, and why we think so."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Identification(BaseModel):
    """One model (a file, or a folder that is one model).

    ``subtype`` is the ComfyUI folder key the model belongs in, or None when no image app loads it
    (LLMs). ``evidence`` lists the few keys/shapes/metadata that decided; ``warnings`` say what the
    header could not decide. ``param_count`` is exact: the sum of the element counts of all tensors.
    """

    path: str
    format: str
    model_type: str = "unknown"
    subtype: str | None = None
    family: str | None = None
    variant: str | None = None
    # the size class of the model, or of the base model an adapter applies to, where the shapes decide it
    size: str | None = None
    # releases that share this exact layout (the header cannot tell them apart; a name may hint)
    releases: list[str] = Field(default_factory=list)
    precision: str | None = None
    param_count: int | None = None
    confidence: float = 0.0
    evidence: list[str] = Field(default_factory=list)
    unsafe_format: bool = False
    unsafe_globals: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    size_bytes: int = 0
