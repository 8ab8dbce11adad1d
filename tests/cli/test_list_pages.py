"""`pumas list --limit/--offset`: a page is read in SQL, so the first page costs the same at any size."""

from __future__ import annotations

from pathlib import Path

from pumasfs.sample.samples import write_sample_library


def test_pages_cover_the_listing_once_in_order(tmp_path: Path, pumas) -> None:
    samples = tmp_path / "samples"
    write_sample_library(samples)
    pumas("import", "--no-lookup", *sorted(samples.iterdir()))
    every = [m["model_id"] for m in pumas("list", "--json").json()]
    assert len(every) >= 10 and every == sorted(every)
    pages = [[m["model_id"] for m in pumas("list", "--json", "--limit", "4", "--offset", str(o)).json()]
             for o in range(0, len(every), 4)]
    assert [mid for page in pages for mid in page] == every
    assert all(len(p) == 4 for p in pages[:-1])

    first = pumas("list", "--limit", "4").stdout.splitlines()
    assert first[-1].startswith(f"4 model(s) (1-4 of {len(every)}; --offset 4 for more)")
    last = pumas("list", "--offset", str(len(every) - 1)).stdout.splitlines()
    assert last[-1].startswith(f"1 model(s) ({len(every)}-{len(every)} of {len(every)})")
    sdxl = [m["model_id"] for m in pumas("list", "--json", "--family", "SDXL").json()]
    assert [m["model_id"] for m in pumas("list", "--json", "--family", "sdxl", "--limit", "1",
                                         "--offset", "1").json()] == sdxl[1:2]
