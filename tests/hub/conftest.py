"""Fixtures for the hub tests: a fake hub on 127.0.0.1 and models written straight into a library."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.models import add_file_model as add_model
from tests.support.net import closed_port
from tests.support.safetensors import safetensors_bytes, weights

from .fakehub import FakeHub

__all__ = ["add_model", "closed_port", "safetensors_bytes", "weights"]


@pytest.fixture
def hub():
    h = FakeHub().start()
    yield h
    h.stop()


def hub_environment(hub: FakeHub, hf_home: Path) -> dict[str, str]:
    """The environment a pumas process needs to talk to the fake hub (and never to civitai.com)."""
    return {
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "",
        "HF_TOKEN": "",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "CIVITAI_OFFLINE": "1",  # these tests are about the hub
        "NO_PROXY": "127.0.0.1,localhost",
    }


@pytest.fixture
def hub_env(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``hub_environment``, also applied to this process."""
    env = hub_environment(hub, tmp_path / "hf-home")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def in_process_ok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process hub tests, whatever the shell that started pytest had set.

    huggingface_hub reads HF_HUB_OFFLINE and the saved-token paths once, when it is first
    imported: a caller's ``HF_HUB_OFFLINE=1`` would make every request here fail, and the
    caller's saved login would be sent along.  Each test gets the switches its own
    environment (``hub_env``) says, and a token store of its own.
    """
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-token" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-token" / "stored_tokens"))
