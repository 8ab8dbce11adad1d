"""The replanner's tests use the materializer's real ComfyUI tree and registered install, and the view
tests' tracked CLI mounts (always unmounted in teardown)."""

from tests.materializer.conftest import app, comfy
from tests.view.conftest import cli_mounts

__all__ = ["app", "cli_mounts", "comfy"]
