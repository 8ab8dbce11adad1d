"""The real CivitAI client against the fake server: hashes, batches, backoff, deadlines, secrets."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from pumasfs.base.errors import PumasError
from pumasfs.hub.civitai.client import CivitaiClient, backoff_s
from pumasfs.hub.civitai.refs import CivRef, parse_ref
from pumasfs.hub.civitai.settings import CivitaiSettings
from pumasfs.hub.errors import HubUnavailable

from .conftest import SECRET, closed_port, lora_on_civitai


def _client(civ, **kw) -> CivitaiClient:
    return CivitaiClient(CivitaiSettings(endpoint=civ.url, token=kw.pop("token", None)), **kw)


def test_autov2_and_other_hashes_find_the_version(civ) -> None:
    _, v, f = lora_on_civitai(civ, "autov2")
    client = _client(civ)
    assert client.by_hash(f.sha256[:10]).id == v.id  # AutoV2, lower case
    assert client.by_hash(f.sha256[:10].upper()).id == v.id
    assert client.by_hash(f.hashes()["BLAKE3"]).id == v.id
    assert client.by_hash("0" * 64) is None
    assert client.by_hash(f.hashes()["CRC32"]).files[0].sha256 == f.sha256


def test_batches_are_at_most_100_hashes(civ) -> None:
    found = [lora_on_civitai(civ, f"b{i}")[1] for i in range(3)]
    unknown = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(247)]
    client = _client(civ)
    got = client.by_hashes([*unknown[:120], *(v.files[0].sha256 for v in found), *unknown[120:]])
    assert sorted(v.id for v in got) == sorted(v.id for v in found)
    posts = civ.requests(r"^POST /api/v1/model-versions/by-hash$")
    assert [len(__import__("json").loads(p.body)) for p in posts] == [100, 100, 50]


def test_rate_limits_back_off_exponentially_within_the_deadline(civ) -> None:
    _, v, f = lora_on_civitai(civ, "limited")
    civ.fail("by-hash", 429, count=2)
    client = _client(civ)
    assert client.by_hashes([f.sha256])[0].id == v.id
    assert client.waits == [1.0, 2.0]
    assert [backoff_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    # under a 1.5 s deadline the 2 s wait does not fit: unavailable, not late
    civ.fail("by-hash", 429, count=5)
    client = _client(civ, deadline=time.monotonic() + 1.5)
    t0 = time.monotonic()
    with pytest.raises(HubUnavailable, match="rate limited"):
        client.by_hashes([f.sha256])
    assert time.monotonic() - t0 < 1.6 and client.waits == [1.0]


def test_unreachable_civitai_is_unavailable_and_never_shows_the_token() -> None:
    client = CivitaiClient(CivitaiSettings(endpoint=f"http://127.0.0.1:{closed_port()}", token=SECRET))
    with pytest.raises(HubUnavailable) as e:
        client.by_hashes(["a" * 64])
    assert SECRET not in str(e.value) and SECRET not in repr(client.settings)
    # once down, the rest of the batch costs nothing
    with pytest.raises(HubUnavailable):
        client.version(1)
    assert client.requests == 1


def test_references() -> None:
    assert parse_ref("civitai:130072") == CivRef(None, 130072)
    assert parse_ref("https://civitai.com/models/4201/realistic-vision?modelVersionId=130072") == CivRef(4201, 130072)
    assert parse_ref("https://civitai.com/models/4201") == CivRef(4201, None)
    assert parse_ref("https://civitai.com/api/download/models/130072?type=Model") == CivRef(None, 130072)
    assert parse_ref("urn:air:sdxl:checkpoint:civitai:827184@2514310") == CivRef(827184, 2514310)
    assert parse_ref("urn:air:sd1:lora:civitai:58390") == CivRef(58390, None)
    for bad in ("civitai:abc", "https://example.com/models/1", "owner/repo"):
        with pytest.raises(PumasError):
            parse_ref(bad)


def test_several_models_imported_together_cost_one_post(civ, civ_env, pumas, tmp_path: Path) -> None:
    d = tmp_path / "loras"
    d.mkdir()
    expected = {}
    for i in range(3):
        _, v, f = lora_on_civitai(civ, f"batch{i}", images=[])
        (d / f"batch{i}.safetensors").write_bytes(f.data)
        expected[f.sha256] = v.id
    (d / "unknown.safetensors").write_bytes(__import__("tests.civitai.conftest", fromlist=["x"]).lora_bytes("nobody"))

    pumas("import", *sorted(d.iterdir()), env_extra=civ_env)

    recs = pumas("list", "--json", env_extra=civ_env).json()
    got = {r["hashes"]["sha256"]: (r["civitai"] or {}).get("version_id") for r in recs}
    assert got == {**expected, **{r["hashes"]["sha256"]: None for r in recs if r["hashes"]["sha256"] not in expected}}
    assert all(r["civitai_checked"] for r in recs)
    assert len(civ.requests(r"^POST /api/v1/model-versions/by-hash$")) == 1
    # the answers are cached: enriching everything again asks CivitAI for no hash
    pumas("enrich", "--all", env_extra=civ_env)
    assert len(civ.requests(r"^POST /api/v1/model-versions/by-hash$")) == 1
