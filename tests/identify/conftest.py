"""Fixtures for the identification tests: the stored corpus written once per session as sparse files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.samples import load_layouts, write_sample


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    """{layout id: (layout, written path)} for every stored layout."""
    base = tmp_path_factory.mktemp("corpus")
    out = {}
    for l in load_layouts():
        out[l["id"]] = (l, write_sample(l, base / l["id"]))
    return out
