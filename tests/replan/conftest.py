"""The replanner's tests use the materializer's real ComfyUI tree and registered install."""

from tests.materializer.conftest import app, comfy

__all__ = ["app", "comfy"]
