"""The kernel caches what the view says never changes, and forgets it when the view changes.

Counted, not timed: the daemon reports the FUSE requests it served (``user.pumas.stats``), so a
second pass that the kernel answers from its caches shows up as zero readlink/readdir requests.
With a stock pyfuse3 (no contrib/pyfuse3-cache.patch) the view works but the kernel cannot cache
symlink targets or listings: those tests skip and say so; the invalidation tests run either way.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from pumasfs.view.fs import KERNEL_CACHES
from tests.view.conftest import make_file, wait_for

needs_patch = pytest.mark.skipif(
    not KERNEL_CACHES, reason="pyfuse3 is not built with contrib/pyfuse3-cache.patch (contrib/bootstrap.sh applies it)"
)


def library(root: Path, n: int) -> tuple[Path, dict[str, tuple[str, str, bool]]]:
    lib = root / "lib"
    plan = {}
    for i in range(n):
        make_file(lib / f"diffusion/sd1/m{i}/m{i}.safetensors", b"x" * (i + 1))
        plan[f"loras/m{i}.safetensors"] = (f"diffusion/sd1/m{i}", f"diffusion/sd1/m{i}/m{i}.safetensors", False)
    return lib, plan


def requests(v) -> dict[str, int]:
    return dict(v.stats()["requests"])


def served(after: dict[str, int], before: dict[str, int], kind: str) -> int:
    return after.get(kind, 0) - before.get(kind, 0)


def read_all_links(mp: Path) -> dict[str, str]:
    return {name: os.readlink(mp / "loras" / name) for name in sorted(os.listdir(mp / "loras"))}


@needs_patch
def test_symlink_targets_and_listings_are_asked_once(view, tmp_path):
    lib, plan = library(tmp_path, 50)
    v = view(plan, lib)
    first = read_all_links(v.mountpoint)
    assert len(first) == 50
    before = requests(v)
    assert read_all_links(v.mountpoint) == first
    after = requests(v)
    assert served(after, before, "readlink") == 0, after
    assert served(after, before, "readdir") == 0, after
    assert served(after, before, "lookup") == 0, after


def test_a_cached_listing_and_target_follow_plan_changes(view, tmp_path):
    lib, plan = library(tmp_path, 5)
    v = view(plan, lib)
    mp = v.mountpoint
    for _ in range(2):  # cached (with the patch) before anything changes
        links = read_all_links(mp)
    make_file(lib / "diffusion/sd1/new/new.safetensors", b"new")
    make_file(lib / "diffusion/sd1/other/other.safetensors", b"other")
    changed = dict(plan)
    del changed["loras/m0.safetensors"]
    changed["loras/new.safetensors"] = ("diffusion/sd1/new", "diffusion/sd1/new/new.safetensors", False)
    # Same name, another library file: the kernel must not keep the old target.
    changed["loras/m1.safetensors"] = ("diffusion/sd1/other", "diffusion/sd1/other/other.safetensors", False)
    v.set_plan(changed)
    wait_for(lambda: "new.safetensors" in os.listdir(mp / "loras"), what="the new entry in a cached listing")
    now = read_all_links(mp)
    assert "m0.safetensors" not in now
    assert now["m1.safetensors"].endswith("diffusion/sd1/other/other.safetensors")
    assert links["m1.safetensors"].endswith("diffusion/sd1/m1/m1.safetensors")
    assert now["m2.safetensors"] == links["m2.safetensors"]
    assert (mp / "loras/new.safetensors").read_bytes() == b"new"


@needs_patch
def test_content_listing_is_cached_but_folder_models_are_listed_afresh(view, tmp_path):
    lib, plan = library(tmp_path, 3)
    make_file(lib / "diffusion/sd1/pipe/model_index.json", b"{}")
    plan["diffusers/pipe"] = ("diffusion/sd1/pipe", "diffusion/sd1/pipe", True)
    v = view(plan, lib, content=True)
    mp = v.mountpoint
    os.listdir(mp / "loras")
    assert os.listdir(mp / "diffusers/pipe") == ["model_index.json"]
    before = requests(v)
    os.listdir(mp / "loras")
    assert served(requests(v), before, "readdir") == 0
    # Inside a folder model nobody tells the view about changes: no cached listing there.
    make_file(lib / "diffusion/sd1/pipe/unet/x.safetensors", b"u")
    assert sorted(os.listdir(mp / "diffusers/pipe")) == ["model_index.json", "unet"]


@pytest.mark.parametrize("content", [False, True])
def test_ls_l_does_not_ask_for_labels_and_acls_per_entry(view, tmp_path, content):
    lib, plan = library(tmp_path, 40)
    v = view(plan, lib, content=content)
    before = requests(v)
    subprocess.run(["ls", "-l", str(v.mountpoint / "loras")], check=True, capture_output=True)
    after = requests(v)
    # One security.selinux (and one ACL) question answers "not supported" for the whole device;
    # the two stats reads count too.  Per entry it would be 40 or 80.
    assert served(after, before, "getxattr") <= 6, after
    # Our own attributes are still there (symlinks have none).
    assert os.getxattr(v.mountpoint, "user.pumas.app") == b"testapp"
    if content:
        assert os.getxattr(v.mountpoint / "loras/m3.safetensors", "user.pumas.model_id") == b"diffusion/sd1/m3"
    with pytest.raises(OSError) as e:
        os.getxattr(v.mountpoint / "loras", "user.pumas.nothing")
    assert e.value.errno == errno.ENODATA


def test_first_ls_l_after_mounting_asks_only_for_the_symlink_targets(view, tmp_path):
    # The listing hands the kernel every entry with its attributes and long timeouts
    # (readdirplus), so the first `ls -l` costs no lookup or getattr per entry: what is left
    # is one readlink per symlink (FUSE has no way to give targets before they are asked for).
    lib, plan = library(tmp_path, 200)
    v = view(plan, lib)
    before = requests(v)
    out = subprocess.run(["ls", "-l", str(v.mountpoint / "loras")], check=True, capture_output=True, text=True)
    after = requests(v)
    assert out.stdout.count(" -> ") == 200
    assert served(after, before, "readlink") == 200, after
    assert served(after, before, "lookup") <= 2, after  # loras itself
    assert served(after, before, "getattr") <= 2, after
    assert served(after, before, "readdir") <= 3, after
