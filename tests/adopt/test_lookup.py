"""After `pumas adopt`, new models get import's bounded hub + CivitAI lookup; it never holds adoption up."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pumasfs.base.paths import Layout
from pumasfs.store.library import Library


@pytest.fixture
def silent_hub() -> Iterator[str]:
    """A real server on 127.0.0.1 that accepts every connection and never answers (a hung hub)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            held.append(conn)  # kept open, never read: the client waits until its own deadline

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


def _pending(root) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    lib = Library(Layout(root))
    try:
        return {r.meta.model_id: r.meta.pending_online_lookup for r in lib.index.records()}
    finally:
        lib.close()


def test_offline_adoption_leaves_new_models_pending_for_enrich(machine, pumas, root):
    report = pumas("adopt", "comfyui", "--json").json()
    adopted = {p["model_id"] for p in report["placed"] if p["status"] == "adopted"}
    assert adopted
    assert report["lookup"]["status"] == "offline"
    assert set(report["lookup"]["pending"]) == adopted
    pending = _pending(root)
    assert all(pending[mid] for mid in adopted)
    assert pumas("adopt", "comfyui", "--no-lookup", "--json").json()["lookup"] is None


def test_a_hung_hub_does_not_delay_adoption(machine, pumas, root, silent_hub):
    env = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": silent_hub, "CIVITAI_ENDPOINT": silent_hub}
    started = time.monotonic()
    report = pumas("adopt", "comfyui", "--json", env_extra=env).json()
    elapsed = time.monotonic() - started
    adopted = {p["model_id"] for p in report["placed"] if p["status"] == "adopted"}
    assert adopted
    # The lookup's deadline is 3 s; the hub never answers, so an unbounded lookup would hang for good.
    assert elapsed < 25, elapsed
    assert report["lookup"]["status"] != "done"
    assert adopted <= set(report["lookup"]["pending"])
    pending = _pending(root)
    assert all(pending[mid] for mid in adopted)
