"""The install-mode use cases driven without click, as the web UI will call them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.usecases import apps as uc_apps
from pumasfs.usecases.install_mode import set_mode
from pumasfs.usecases.workspace import Workspace
from tests.yaml_mode.conftest import World, models_snapshot
from tests.yaml_mode.test_editor import USER_YAML


def test_add_set_and_remove_through_the_use_cases(world: World) -> None:
    yaml_file = world.yaml / "extra_model_paths.yaml"
    yaml_file.write_text(USER_YAML)
    before = models_snapshot(world.yaml)
    ws = Workspace(world.root)
    try:
        added = uc_apps.add_app(ws, "comfyui", world.yaml, name="uc", mode="yaml")
        assert added.mode is not None and added.mode.mode == "yaml"
        assert added.mode.tree_dir == str(world.tree("uc")) and added.mode.report.created
        assert added.mode.yaml_changed and not added.mode.yaml_created

        planned = set_mode(ws, "uc", "links", dry_run=True)
        assert planned.dry_run and planned.yaml_changed and planned.report.created
        assert yaml_file.read_text().startswith(USER_YAML + "\n\npumas:\n")  # a dry run changed nothing
        assert models_snapshot(world.yaml) == before

        again = set_mode(ws, "uc", "yaml")
        assert again.steps == [] and not again.yaml_changed  # idempotent: nothing to repair

        with pytest.raises(PumasError, match="mode must be one of"):
            set_mode(ws, "uc", "symlinks")

        removed = uc_apps.remove_app(ws, "uc")
        assert removed.forgotten and any("remove our section" in s for s in removed.mode_steps)
        assert yaml_file.read_text() == USER_YAML
        assert not Path(world.tree("uc")).exists()
    finally:
        ws.close()
