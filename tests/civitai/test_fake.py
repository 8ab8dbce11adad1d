"""The fake CivitAI answers like the real one (so the client tests mean something)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from .conftest import lora_on_civitai
from .fakecivitai import FakeFile


def _get(url: str, **headers: str):
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def test_by_hash_accepts_every_kind_of_hash_in_any_case(civ) -> None:
    _, v, f = lora_on_civitai(civ)
    for kind, value in f.hashes().items():
        for h in (value, value.lower()):
            status, body, _ = _get(f"{civ.url}/api/v1/model-versions/by-hash/{h}")
            assert status == 200, kind
            assert json.loads(body)["id"] == v.id
    status, body, _ = _get(f"{civ.url}/api/v1/model-versions/by-hash/{'0' * 64}")
    assert (status, json.loads(body)) == (404, {"error": "Model not found"})
    status, body, _ = _get(f"{civ.url}/api/v1/model-versions/by-hash/not-a-hash")
    assert status == 400 and json.loads(body)["error"].startswith("Invalid hash: ")


def test_archived_models_have_no_files(civ) -> None:
    _model, v, f = lora_on_civitai(civ, archived=True)
    status, body, _ = _get(f"{civ.url}/api/v1/model-versions/by-hash/{f.sha256}")
    assert (status, json.loads(body)) == (404, {"error": "Missing model file"})
    got = json.loads(_get(f"{civ.url}/api/v1/model-versions/{v.id}")[1])
    assert got["files"] == [] and "downloadUrl" not in got


def test_gated_download_redirects_a_browser_to_a_login_page(civ) -> None:
    _model, v, f = lora_on_civitai(civ)
    f.gated = True
    status, body, headers = _get(f"{civ.url}/api/download/models/{v.id}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")  # urllib followed the 302
    status, body, _ = _get(f"{civ.url}/api/download/models/{v.id}", Accept="application/json")
    assert (status, json.loads(body)) == (401, {"error": "Unauthorized"})
    status, body, _ = _get(f"{civ.url}/api/download/models/{v.id}", Authorization=f"Bearer {civ.token}")
    assert status == 200 and body == f.data
    status, body, _ = _get(f"{civ.url}/api/download/models/{v.id}?token={civ.token}", Range="bytes=100-")
    assert status == 206 and body == f.data[100:]


def test_batch_is_at_most_100_and_rate_limits_have_no_retry_after(civ) -> None:
    _, v, f = lora_on_civitai(civ)
    def post(hashes):
        req = urllib.request.Request(f"{civ.url}/api/v1/model-versions/by-hash", data=json.dumps(hashes).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.headers
    status, out = post([f.sha256, "1" * 64])
    assert status == 200 and [x["id"] for x in out] == [v.id]
    assert post(["1" * 64] * 101)[0] == 400
    civ.fail("by-hash", 429)
    status, headers = post([f.sha256])
    assert status == 429 and "Retry-After" not in headers


def test_early_access_is_403(civ) -> None:
    model = civ.add_model("Early")
    v = civ.add_version(model, "v2", [FakeFile("e.safetensors", b"x" * 10)], early_access_deadline="2030-01-01T00:00:00Z")
    status, body, _ = _get(f"{civ.url}/api/download/models/{v.id}")
    assert status == 403 and json.loads(body)["error"] == "Early Access"
