"""The 2025-26 corpus written once per session as sparse files (one folder per layout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.corpus_2025 import load_layouts_2025, write_sample_2025


@pytest.fixture(scope="session")
def corpus_2025(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    base = tmp_path_factory.mktemp("corpus2025")
    return {l["id"]: (l, write_sample_2025(l, base / l["id"])) for l in load_layouts_2025()}
