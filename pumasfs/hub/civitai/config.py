"""The CivitAI part of the user's settings: ``launcher-data/config/civitai.json``.

It holds what the environment may also give (the API token) and what only a
user decides (how explicit a preview image may be).  The file may hold a
secret, so it is written readable by its owner only; ``pumas config get``
never prints the token itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from pumasfs.base import atomic
from pumasfs.base.errors import PumasError
from pumasfs.base.paths import Layout
from pumasfs.store.metadata import validation_error_line

CONFIG_FILE = "civitai.json"

# CivitAI's image nsfwLevel is a bitmask: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX.
NsfwSetting = Literal["safe", "soft", "mature", "x", "all"]
NSFW_MAX_LEVEL: dict[str, int] = {"safe": 1, "soft": 2, "mature": 4, "x": 8, "all": 31}
NSFW_SETTINGS: tuple[str, ...] = tuple(NSFW_MAX_LEVEL)


class CivitaiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_token: str | None = None
    preview_nsfw: NsfwSetting = "safe"
    previews: bool = True  # save a preview image beside each matched model


KEYS: dict[str, str] = {
    "civitai.api_token": "api_token",
    "civitai.preview_nsfw": "preview_nsfw",
    "civitai.previews": "previews",
}


def config_path(layout: Layout) -> Path:
    return layout.config_dir / CONFIG_FILE


def load_config(layout: Layout) -> CivitaiConfig:
    path = config_path(layout)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CivitaiConfig()
    except OSError as e:
        raise PumasError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return CivitaiConfig.model_validate_json(raw)
    except ValidationError as e:
        raise PumasError(f"{path}: invalid: {validation_error_line(e)}") from None


def save_config(layout: Layout, config: CivitaiConfig) -> None:
    path = config_path(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, (config.model_dump_json(indent=2, exclude_defaults=False) + "\n").encode())
    os.chmod(path, 0o600)  # it may hold a token
