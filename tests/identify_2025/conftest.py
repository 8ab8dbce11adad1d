"""The 2025-26 corpus written once per session as sparse files (one folder per layout)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.corpus.corpus_2025 import load_layouts_2025, write_sample_2025  # noqa: E402


@pytest.fixture(scope="session")
def corpus_2025(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    base = tmp_path_factory.mktemp("corpus2025")
    return {l["id"]: (l, write_sample_2025(l, base / l["id"])) for l in load_layouts_2025()}
