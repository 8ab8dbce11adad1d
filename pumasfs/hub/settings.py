"""The ecosystem's switches, read when a call is made rather than at import.

huggingface_hub reads ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` once, when it is
first imported; pumas reads them again for every batch and passes the
endpoint and token explicitly, so a long-lived process (or a test) that
changes the environment is obeyed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "ON", "YES", "TRUE"}


@dataclass(frozen=True)
class HubSettings:
    endpoint: str
    token: str | None  # None: huggingface_hub falls back to the saved login, if any
    offline: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HubSettings:
        env = os.environ if environ is None else environ
        endpoint = (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        token = env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or None
        offline_flag = env.get("HF_HUB_OFFLINE") or env.get("TRANSFORMERS_OFFLINE") or ""
        return cls(endpoint=endpoint, token=token, offline=offline_flag.strip().upper() in _TRUE)

    def repo_url(self, repo_id: str) -> str:
        return f"{self.endpoint}/{repo_id}"
