"""The 2025-26 real-layout corpus (layouts_2025.json.gz, made by generate_2025.py), written as sample files.

Same record format as layouts.json.gz (see samples.py), plus per record:
``source`` (the class/file the layout comes from), ``companions`` (files written beside it, e.g. a
full LLM release's config.json / generation_config.json / tokenizer) and, in ``expect``, ``size``
(the base model's size where the header decides) and ``releases`` (releases that share the layout
exactly: identification must name them all). Free of torch, like samples.py.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

from tests.corpus.samples import write_sample

HERE = Path(__file__).resolve().parent
LAYOUTS_2025 = HERE / "layouts_2025.json.gz"


@lru_cache(maxsize=1)
def load_layouts_2025() -> list[dict]:
    with gzip.open(LAYOUTS_2025, "rt", encoding="utf-8") as f:
        return json.load(f)["layouts"]


def write_sample_2025(layout: dict, dest_dir: Path) -> Path:
    path = write_sample(layout, dest_dir)
    for name, content in layout.get("companions", {}).items():
        (Path(dest_dir) / name).write_text(json.dumps(content))
    return path
