"""Fixtures for the web UI: a seeded library, the real `pumas ui` process, a real Chromium.

The server is the real command (`python -m pumasfs ui`) in a subprocess; the
browser is Debian's Chromium driven by Playwright.  Screenshots of every page
go to ``$PUMAS_UI_SCREENSHOTS`` (default: a pytest temp folder) to be looked at.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.hub.conftest import hub  # noqa: F401 (the fake hub, for the download tests)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PUMAS_HOME", None)
    env.update(HF_HUB_OFFLINE="1", HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"),
               PYTHONUNBUFFERED="1")
    return env


def run_pumas(root: Path, home: Path, *args: str, check: bool = True,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "pumasfs", "--root", str(root), *map(str, args)],
                       capture_output=True, text=True, env={**_env(home), **(env or {})}, timeout=300, check=False)
    if check and p.returncode != 0:
        raise AssertionError(f"pumas {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}{p.stdout}")
    return p


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library holding the twelve sample models (imported once per session, copied per test)."""
    from pumasfs.sample.samples import write_sample_library

    base = tmp_path_factory.mktemp("ui-template")
    src = base / "src"
    write_sample_library(src)
    run_pumas(base / "root", base / "home", "import", src, "--no-lookup")
    return base / "root"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / "Downloads").mkdir(parents=True)
    return h


@pytest.fixture
def lib_root(seeded_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "pumas-root"
    shutil.copytree(seeded_template, root, symlinks=True)
    return root


@pytest.fixture
def cli(lib_root: Path, home: Path, server_env: dict[str, str]):
    """The real CLI on the same library, with the same environment as the server."""

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_pumas(lib_root, home, *args, check=check, env=server_env)

    return run


@pytest.fixture
def comfy(cli, tmp_path: Path) -> Path:
    """A ComfyUI 0.3.64 install (outside the allowed folders), registered as `comfyui` through the CLI."""
    from pumasfs.sample.demo import make_comfyui_tree

    path = make_comfyui_tree(tmp_path / "ComfyUI")
    cli("app", "add", "comfyui", path)
    return path


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str  # with the token
    base: str
    port: int
    token: str
    root: Path
    allowed: Path
    lines: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.base.removeprefix("http://").rsplit(":", 1)[0]

    @property
    def cookie(self) -> str:
        return f"pumas_ui_{self.port}={self.token}"


def start_server(root: Path, home: Path, allowed: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pumasfs", "--root", str(root), "ui", "--port", "0", "--no-browser",
         "--allow", str(allowed), "--no-lookup", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**_env(home), **(env or {})},
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"open (http://[^/]+:(\d+)/\?token=(\S+))", line)
        if m:
            url, port, token = m.group(1), int(m.group(2)), m.group(3)
            break
    else:
        raise AssertionError("pumas ui did not print its address:\n" + "".join(lines))

    def drain() -> None:  # keep reading so the server never blocks on a full pipe
        lines.extend(proc.stdout)  # type: ignore[arg-type]

    threading.Thread(target=drain, daemon=True).start()
    server = Server(proc, url, url.split("/?", 1)[0], port, token, root, allowed, lines)
    _wait_ready(server)
    return server


def _wait_ready(server: Server) -> None:
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(server.base + "/", timeout=2)
        except urllib.error.HTTPError:
            return  # 403 without the token: it answers
        except OSError:
            time.sleep(0.1)
            continue
        return
    raise AssertionError("pumas ui did not answer:\n" + "".join(server.lines))


def stop_server(server: Server) -> int:
    """Ctrl-C, as a user stops it; returns the exit code."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGINT)
        try:
            return server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
            raise AssertionError("pumas ui did not stop on Ctrl-C:\n" + "".join(server.lines))
    return server.proc.returncode


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the server process (a test's fake hub, say)."""
    return {}


@pytest.fixture
def server(lib_root: Path, home: Path, server_env: dict[str, str]) -> Iterator[Server]:
    s = start_server(lib_root, home, home / "Downloads", env=server_env)
    yield s
    code = stop_server(s)
    assert code == 0, "".join(s.lines)
    assert "pumas ui: stopped" in "".join(s.lines)
    assert "Traceback" not in "".join(s.lines), "".join(s.lines)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium; contrib/bootstrap.sh test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(params=["light"])
def color_scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def allowed_errors() -> list[str]:
    """Substrings of console errors a test provokes on purpose (a refused edit logs its 400)."""
    return []


@pytest.fixture
def page(browser, server: Server, color_scheme: str, allowed_errors: list[str]):
    """A fresh browser profile that opened the printed URL (so it holds the cookie)."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme=color_scheme)
    pg = context.new_page()
    errors: list[str] = []
    documents: set[str] = set()  # pages a test opened on purpose (a 404 page is one)
    pg.on("framenavigated", lambda f: documents.add(f.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))

    def console(m) -> None:  # type: ignore[no-untyped-def]
        if m.type == "error" and m.location.get("url") not in documents:
            errors.append(f"{m.text} ({m.location.get('url')})")

    pg.on("console", console)
    pg.goto(server.url)
    assert "token=" not in pg.url  # swapped for a cookie and dropped from the address bar
    yield pg
    context.close()
    errors = [e for e in errors if not any(a in e for a in allowed_errors)]
    if any("htmx:sendAbort" in e for e in errors):
        # A filter change replaced a request still in flight (hx-sync): htmx logs the aborted one.
        errors = [e for e in errors if not e.startswith(("htmx:sendAbort", "htmx:afterRequest"))]
    assert not errors, errors


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = os.environ.get("PUMAS_UI_SCREENSHOTS")
    out = Path(d) if d else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out
