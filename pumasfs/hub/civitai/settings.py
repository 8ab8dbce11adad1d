"""How pumas talks to CivitAI in this run: endpoint, token, offline, preview filter.

Read at call time, like the Hugging Face switches:

* ``CIVITAI_ENDPOINT``: the base URL (default ``https://civitai.com``), like
  ``HF_ENDPOINT``; page URLs are built on it too.
* ``CIVITAI_API_TOKEN``, else the config file's ``api_token``.
* ``CIVITAI_OFFLINE=1``: not one packet.  ``HF_HUB_OFFLINE=1`` means the
  same unless ``CIVITAI_ENDPOINT`` is set explicitly: a user who switched the
  hub off asked for no network, and a test suite that did so must never reach
  civitai.com.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pumasfs.base.paths import Layout
from pumasfs.hub.civitai.config import NSFW_MAX_LEVEL, load_config

DEFAULT_ENDPOINT = "https://civitai.com"
_TRUE = {"1", "ON", "YES", "TRUE"}


def _flag(value: str | None) -> bool:
    return (value or "").strip().upper() in _TRUE


@dataclass(frozen=True)
class CivitaiSettings:
    endpoint: str
    token: str | None = field(default=None, repr=False)  # never shown, not even in a repr
    offline: bool = False
    preview_nsfw: str = "safe"
    previews: bool = True

    @classmethod
    def from_env(cls, layout: Layout | None = None, environ: Mapping[str, str] | None = None) -> CivitaiSettings:
        env = os.environ if environ is None else environ
        config = load_config(layout) if layout is not None else None
        explicit = (env.get("CIVITAI_ENDPOINT") or "").strip()
        endpoint = (explicit or DEFAULT_ENDPOINT).rstrip("/")
        token = (env.get("CIVITAI_API_TOKEN") or "").strip() or (config.api_token if config else None) or None
        offline = _flag(env.get("CIVITAI_OFFLINE"))
        if not explicit and (_flag(env.get("HF_HUB_OFFLINE")) and (env.get("CIVITAI_OFFLINE") or "").strip() == ""):
            offline = True
        return cls(
            endpoint=endpoint, token=token, offline=offline,
            preview_nsfw=config.preview_nsfw if config else "safe",
            previews=config.previews if config else True,
        )

    @property
    def nsfw_max(self) -> int:
        return NSFW_MAX_LEVEL.get(self.preview_nsfw, 1)

    def model_url(self, model_id: int, version_id: int | None = None) -> str:
        return f"{self.endpoint}/models/{model_id}" + (f"?modelVersionId={version_id}" if version_id else "")

    def redact(self, text: str) -> str:
        """Any text that might carry the token (an error from a library, a URL) made safe to show."""
        if self.token and self.token in text:
            text = text.replace(self.token, "***")
        return text
