"""Who may use the UI: the token, the Host check, Origin + CSRF, no CORS, upload names, a hostile page."""

from __future__ import annotations

import http.client
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from .conftest import Server

MODEL = "diffusion/sd1/easynegative"


def request(server: Server, method: str, path: str, *, headers: dict[str, str] | None = None,
            body: bytes | None = None, cookie: bool = True, host: str | None = None) -> tuple[int, str, dict[str, str]]:
    conn = http.client.HTTPConnection(server.address, server.port, timeout=30)
    h = {"Host": host if host is not None else f"{server.address}:{server.port}"}
    if cookie:
        h["Cookie"] = server.cookie
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    text = r.read().decode("utf-8", "replace")
    out = (r.status, text, {k.lower(): v for k, v in r.getheaders()})
    conn.close()
    return out


def csrf_of(server: Server) -> str:
    status, html, _ = request(server, "GET", "/")
    assert status == 200
    return html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def model_exists(server: Server) -> bool:
    return (server.root / "shared-resources" / "models" / MODEL / "metadata.json").is_file()


def batches(server: Server) -> list[Path]:
    return list((server.root / "shared-resources" / "models" / ".downloads").glob("import-ui-*"))


def test_without_the_token_nothing_is_served(server: Server) -> None:
    for path in ("/", "/api/models", "/model/" + MODEL, "/events", "/static/app.js", "/activity"):
        status, text, _ = request(server, "GET", path, cookie=False)
        assert status == 403, path
        assert "open the address `pumas ui` printed" in text
    status, _, _ = request(server, "GET", "/?token=wrong", cookie=False)
    assert status == 403
    status, _, headers = request(server, "GET", "/?token=" + server.token, cookie=False)
    assert status == 303 and headers["location"] == "/"
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
    status, _, _ = request(server, "GET", "/", headers={"Cookie": f"pumas_ui_{server.port}=guess"}, cookie=False)
    assert status == 403


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "localhost.evil.example:{port}", ""])
def test_a_foreign_host_header_is_refused_dns_rebinding(server: Server, host: str) -> None:
    status, text, _ = request(server, "GET", "/api/models", host=host.format(port=server.port))
    assert status == 403
    assert "Host header" in text
    status, _, _ = request(server, "GET", "/api/models", host=f"localhost:{server.port}")
    assert status == 200


def test_state_changes_need_our_origin_and_the_csrf_token(server: Server) -> None:
    csrf = csrf_of(server)
    own = f"http://127.0.0.1:{server.port}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = [
        {},  # neither
        {"Origin": own},  # no CSRF token
        {"Origin": own, "X-CSRF-Token": "forged"},
        {"Origin": "http://evil.example", "X-CSRF-Token": csrf},
        {"Origin": f"http://127.0.0.1:{server.port + 1}", "X-CSRF-Token": csrf},  # same site, other port
        {"Origin": "null", "X-CSRF-Token": csrf},
        {"X-CSRF-Token": csrf},  # no Origin at all
    ]
    for extra in cases:
        for method, path in (("POST", f"/model/{MODEL}/delete"), ("POST", "/uploads"), ("POST", "/import/path"),
                             ("POST", f"/model/{MODEL}/edit"), ("POST", "/downloads")):
            status, text, _ = request(server, method, path, headers={**form, **extra}, body=b"path=/etc")
            assert status == 403, (extra, path, text)
    assert model_exists(server) and batches(server) == []
    # Preflights are refused and no response ever allows another origin.
    status, _, headers = request(server, "OPTIONS", "/uploads", headers={"Origin": "http://evil.example",
                                                                        "Access-Control-Request-Method": "PUT"})
    assert status == 405 and not any(k.startswith("access-control-") for k in headers)
    status, _, headers = request(server, "GET", "/api/models", headers={"Origin": "http://evil.example"})
    assert status == 200 and not any(k.startswith("access-control-") for k in headers)
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    # With both, the same request works.
    status, _, _ = request(server, "POST", f"/model/{MODEL}/delete", headers={**form, "Origin": own, "X-CSRF-Token": csrf})
    assert status == 200 and not model_exists(server)


@pytest.mark.parametrize("name", ["../escape.safetensors", "/etc/escape.safetensors", "a/../../escape.safetensors",
                                  "nul\x00.safetensors", "..", "a\\..\\escape.safetensors", "", "dir/./x",
                                  "x" * 300 + ".safetensors"])
def test_upload_names_cannot_escape_staging(server: Server, name: str) -> None:
    from urllib.parse import quote

    csrf = csrf_of(server)
    headers = {"Origin": f"http://127.0.0.1:{server.port}", "X-CSRF-Token": csrf}
    status, text, _ = request(server, "POST", "/uploads", headers=headers)
    assert status == 200
    batch = json.loads(text)["batch"]
    status, text, _ = request(server, "PUT", f"/uploads/{batch}/file?name={quote(name)}", headers=headers,
                              body=b"x" * 1000)
    assert status == 400, text
    assert text.startswith("upload refused")
    staging = server.root / "shared-resources" / "models" / ".downloads"
    assert not (staging / "escape.safetensors").exists() and not (staging.parent / "escape.safetensors").exists()
    assert not Path("/etc/escape.safetensors").exists()
    (folder,) = batches(server)
    assert [p.name for p in (folder / "files").iterdir()] == []
    status, _, _ = request(server, "DELETE", f"/uploads/{batch}", headers=headers)
    assert status == 204 and batches(server) == []


class _Attacker(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


ATTACK_JS = """async ([target, model]) => {
  const out = {};
  const attempt = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = "blocked: " + e.name; } };
  await attempt("read_list", async () => (await fetch(target + "/api/models", {credentials: "include"})).text());
  await attempt("read_page", async () => (await fetch(target + "/", {credentials: "include"})).text());
  await attempt("delete", async () => (await fetch(target + "/model/" + model + "/delete",
      {method: "POST", mode: "no-cors", credentials: "include"})).type);
  await attempt("open_batch", async () => (await fetch(target + "/uploads", {method: "POST", mode: "no-cors", credentials: "include"})).type);
  await attempt("import_path", async () => (await fetch(target + "/import/path",
      {method: "POST", mode: "no-cors", credentials: "include", body: new URLSearchParams({path: "/etc"})})).type);
  await attempt("upload", async () => (await fetch(target + "/uploads/x/file?name=a", {method: "PUT", mode: "no-cors", body: "x"})).type);
  await new Promise((resolve) => {  // a plain form post, the oldest trick
    const f = document.createElement("form");
    f.method = "POST"; f.action = target + "/model/" + model + "/delete"; f.target = "sink";
    const frame = document.createElement("iframe"); frame.name = "sink"; frame.onload = resolve;
    document.body.append(frame, f); f.submit();
    setTimeout(resolve, 3000);
  });
  return out;
}"""


def test_a_page_on_another_origin_cannot_list_import_or_delete(page: Page, server: Server, attacker: str,
                                                               allowed_errors: list[str]) -> None:
    allowed_errors += ["CORS", "Failed to load resource", "net::ERR", "Refused to display", "frame-ancestors"]
    # The victim's browser holds the cookie (the page fixture opened the printed URL), and the attacker
    # runs on another port of 127.0.0.1: "same site", so SameSite cookies are sent along.
    evil = page.context.new_page()
    evil.on("console", lambda m: None)
    evil.goto(attacker + "/")
    out = evil.evaluate(ATTACK_JS, [server.base, MODEL])
    assert out["read_list"].startswith("blocked"), out
    assert out["read_page"].startswith("blocked"), out
    assert out["upload"].startswith("blocked"), out  # PUT is not allowed without CORS at all
    assert model_exists(server), out
    assert batches(server) == []
    _, text, _ = request(server, "GET", "/api/models")
    assert json.loads(text)["total"] == 12
    evil.close()


def test_another_address_needs_the_flag_and_warns(lib_root: Path, home: Path) -> None:
    from .conftest import start_server, stop_server

    s = start_server(lib_root, home, home / "Downloads", "--host", "127.0.0.2")
    try:
        out = "".join(s.lines)
        assert "warning: listening on 127.0.0.2" in out
        assert "open http://127.0.0.2:" in out
        url_file = lib_root / "launcher-data" / "run" / "ui-url"
        assert url_file.read_text().strip().endswith(s.token)
        assert url_file.stat().st_mode & 0o777 == 0o600  # it holds the token
        conn = http.client.HTTPConnection("127.0.0.2", s.port, timeout=10)
        conn.request("GET", "/api/models", headers={"Cookie": s.cookie})
        assert conn.getresponse().status == 200
        # The bound name only: 127.0.0.1 is another address now.
        status, _, _ = request(s, "GET", "/api/models", host=f"127.0.0.1:{s.port}")
    finally:
        assert stop_server(s) == 0
    assert status == 403
    assert not url_file.exists()


def test_a_large_upload_streams_to_staging_in_constant_memory(server: Server) -> None:
    import hashlib
    import os
    import time

    import psutil

    csrf = csrf_of(server)
    headers = {"Origin": server.base, "X-CSRF-Token": csrf, "Cookie": server.cookie,
               "Host": f"{server.address}:{server.port}"}
    conn = http.client.HTTPConnection(server.address, server.port, timeout=300)
    conn.request("POST", "/uploads", headers=headers)
    batch = json.loads(conn.getresponse().read())["batch"]
    proc = psutil.Process(server.proc.pid)
    base = proc.memory_info().rss
    size, block = 384 << 20, os.urandom(1 << 20)
    sha = hashlib.sha256()
    peak = base

    def body():  # type: ignore[no-untyped-def]
        nonlocal peak
        for _ in range(size // len(block)):
            sha.update(block)
            peak = max(peak, proc.memory_info().rss)
            yield block

    t = time.monotonic()
    conn.request("PUT", f"/uploads/{batch}/file?name=big/one.safetensors", body=body(),
                 headers={**headers, "Content-Length": str(size)})
    answer = json.loads(conn.getresponse().read())
    assert answer == {"name": "big/one.safetensors", "size": size, "sha256": sha.hexdigest()}
    (folder,) = batches(server)
    assert (folder / "files" / "big" / "one.safetensors").stat().st_size == size
    grew = peak - base
    assert grew < 48 << 20, f"the server grew by {grew >> 20} MiB for a {size >> 20} MiB upload"
    assert time.monotonic() - t < 120
    conn.request("DELETE", f"/uploads/{batch}", headers=headers)
    assert conn.getresponse().status == 204
    assert batches(server) == []


def test_a_busy_port_is_one_clear_line(server: Server, cli) -> None:
    p = cli("ui", "--port", str(server.port), "--no-browser", check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == f"pumas: cannot listen on 127.0.0.1:{server.port}: Address already in use (try --port N)"
    assert "Traceback" not in p.stderr
