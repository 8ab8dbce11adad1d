"""Real mounts of hand-built plans: what the view shows, serves and refuses."""

from __future__ import annotations

import errno
import mmap
import os
import signal
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from tests.view.conftest import is_mounted, make_file, wait_for


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    d = tmp_path / "lib"
    make_file(d / "diffusion/sd1/a/a.safetensors", os.urandom(300_000))
    make_file(d / "diffusion/sd1/a/a.yaml", b"model: a\n")
    make_file(d / "diffusion/sdxl/b/b.safetensors", os.urandom(5_000))
    make_file(d / "diffusion/sd1/pipe/model_index.json", b"{}")
    make_file(d / "diffusion/sd1/pipe/unet/diffusion_pytorch_model.safetensors", os.urandom(70_000))
    return d


def plan_of(lib: Path) -> dict[str, tuple[str, str, bool]]:
    return {
        "checkpoints/a.safetensors": ("diffusion/sd1/a", "diffusion/sd1/a/a.safetensors", False),
        "checkpoints/a.yaml": ("diffusion/sd1/a", "diffusion/sd1/a/a.yaml", False),
        "loras/sdxl/b.safetensors": ("diffusion/sdxl/b", "diffusion/sdxl/b/b.safetensors", False),
        "diffusers/pipe": ("diffusion/sd1/pipe", "diffusion/sd1/pipe", True),
    }


def walk(root: Path) -> dict[str, str]:
    """Every path under root -> "dir" | "link" | "file"."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            out[rel] = "link" if p.is_symlink() else "dir" if p.is_dir() else "file"
    return out


def test_preview_shows_the_plan_as_symlinks_into_the_library(view, lib):
    plan = plan_of(lib)
    v = view(plan, lib)
    tree = walk(v.mountpoint)
    folders = {"checkpoints", "loras", "loras/sdxl", "diffusers"}
    assert tree == {**{p: "link" for p in plan}, **{f: "dir" for f in folders}}
    for path, (_, source, _) in plan.items():
        target = os.readlink(v.mountpoint / path)
        assert target == str(lib.resolve() / source)
    assert (v.mountpoint / "checkpoints/a.safetensors").read_bytes() == (lib / "diffusion/sd1/a/a.safetensors").read_bytes()
    # A folder model is one entry: a link to the model folder.
    assert (v.mountpoint / "diffusers/pipe/unet").is_dir()
    assert os.getxattr(v.mountpoint, "user.pumas.app") == b"testapp"
    st = os.lstat(v.mountpoint / "checkpoints")
    assert stat.S_ISDIR(st.st_mode) and st.st_mode & 0o222 == 0
    assert sorted(os.listdir(v.mountpoint)) == ["checkpoints", "diffusers", "loras"]


def test_content_mode_serves_the_library_bytes_by_read_and_mmap(view, lib):
    v = view(plan_of(lib), lib, content=True)
    tree = walk(v.mountpoint)
    assert tree["checkpoints/a.safetensors"] == "file"
    assert tree["diffusers/pipe"] == "dir"
    assert tree["diffusers/pipe/unet/diffusion_pytorch_model.safetensors"] == "file"
    for path, (_, source, is_dir) in plan_of(lib).items():
        if is_dir:
            continue
        want = (lib / source).read_bytes()
        got = v.mountpoint / path
        assert got.read_bytes() == want
        assert got.stat().st_size == len(want)
        with open(got, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            assert m[:] == want
        # positional reads at odd offsets
        with open(got, "rb") as f:
            assert os.pread(f.fileno(), 1000, 4097) == want[4097:5097]
    inner = v.mountpoint / "diffusers/pipe/unet/diffusion_pytorch_model.safetensors"
    assert inner.read_bytes() == (lib / "diffusion/sd1/pipe/unet/diffusion_pytorch_model.safetensors").read_bytes()
    assert os.getxattr(v.mountpoint / "checkpoints/a.safetensors", "user.pumas.model_id") == b"diffusion/sd1/a"
    assert os.getxattr(v.mountpoint / "checkpoints/a.safetensors", "user.pumas.source") == str(
        lib.resolve() / "diffusion/sd1/a/a.safetensors").encode()
    assert os.getxattr(inner, "user.pumas.model_id") == b"diffusion/sd1/pipe"
    out = subprocess.run(["getfattr", "-d", str(v.mountpoint / "checkpoints/a.safetensors")],
                         check=False, capture_output=True, text=True)
    assert 'user.pumas.model_id="diffusion/sd1/a"' in out.stdout


def test_safetensors_safe_open_through_the_content_view(view, tmp_path):
    lib = tmp_path / "lib"
    tensors = {"w": np.arange(200_000, dtype=np.float32).reshape(400, 500), "b": np.ones(7, dtype=np.float16)}
    (lib / "diffusion/sd1/t").mkdir(parents=True)
    save_file(tensors, str(lib / "diffusion/sd1/t/t.safetensors"))
    v = view({"checkpoints/t.safetensors": ("diffusion/sd1/t", "diffusion/sd1/t/t.safetensors", False)}, lib, content=True)
    with safe_open(str(v.mountpoint / "checkpoints/t.safetensors"), framework="numpy") as f:
        assert sorted(f.keys()) == ["b", "w"]
        np.testing.assert_array_equal(f.get_tensor("w"), tensors["w"])
        np.testing.assert_array_equal(f.get_tensor("b"), tensors["b"])


@pytest.mark.parametrize("content", [False, True], ids=["preview", "content"])
def test_every_write_fails_with_erofs(view, lib, content):
    v = view(plan_of(lib), lib, content=content)
    mp = v.mountpoint
    entry = mp / "checkpoints/a.safetensors"
    folder = mp / "checkpoints"

    def erofs(fn, *args, **kw):
        with pytest.raises(OSError) as e:
            fn(*args, **kw)
        assert e.value.errno == errno.EROFS, (fn, args, e.value)

    erofs(os.open, mp / "new.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    erofs(os.mkdir, mp / "newdir")
    erofs(os.mkdir, folder / "newdir")
    erofs(os.rename, entry, folder / "renamed")
    erofs(os.unlink, entry)
    erofs(os.rmdir, mp / "loras/sdxl")
    erofs(os.symlink, "/etc/passwd", folder / "evil")
    erofs(os.link, entry, folder / "hard")
    erofs(os.chmod, folder, 0o777)
    erofs(os.chown, folder, 1000, 1000)
    erofs(os.utime, folder, (0, 0))
    erofs(os.setxattr, folder, "user.x", b"1")
    erofs(os.mknod, folder / "fifo", stat.S_IFIFO | 0o600)
    if content:
        erofs(os.open, entry, os.O_WRONLY)
        erofs(os.open, entry, os.O_RDWR)
        erofs(os.truncate, entry, 0)
        erofs(os.chmod, entry, 0o777)
        erofs(os.setxattr, entry, "user.pumas.model_id", b"other")
        erofs(os.removexattr, entry, "user.pumas.model_id")
    # And nothing changed in the library.
    assert (lib / "diffusion/sd1/a/a.safetensors").stat().st_size == 300_000


def test_nothing_outside_the_library_is_reachable(view, tmp_path, lib):
    secret = make_file(tmp_path / "secret.txt", b"top secret")
    (lib / "diffusion/sd1/pipe/leak.txt").symlink_to(secret)  # inside a folder model
    (lib / "diffusion/sd1/a/escape.bin").symlink_to(secret)
    plan = {
        **plan_of(lib),
        "checkpoints/escape.bin": ("diffusion/sd1/a", "diffusion/sd1/a/escape.bin", False),
        "checkpoints/dots.bin": ("diffusion/sd1/a", "diffusion/sd1/a/../../../../secret.txt", False),
        "../outside.bin": ("diffusion/sd1/a", "diffusion/sd1/a/a.safetensors", False),
        "checkpoints/abs.bin": ("diffusion/sd1/a", "/etc/passwd", False),
    }
    v = view(plan, lib, content=True)
    assert sorted(os.listdir(v.mountpoint / "checkpoints")) == ["a.safetensors", "a.yaml"]
    assert "leak.txt" not in os.listdir(v.mountpoint / "diffusers/pipe")
    assert not (v.mountpoint / "diffusers/pipe/leak.txt").exists()
    assert not (v.mountpoint.parent / "outside.bin").exists()
    for dirpath, _, files in os.walk(v.mountpoint):
        for name in files:
            assert (Path(dirpath) / name).read_bytes() != b"top secret"


def test_live_add_remove_and_replace_while_mounted(view, lib):
    plan = plan_of(lib)
    v = view(plan, lib)
    mp = v.mountpoint
    make_file(lib / "diffusion/sd1/c/c.safetensors", b"c" * 100)
    v.set_plan({**plan, "checkpoints/c.safetensors": ("diffusion/sd1/c", "diffusion/sd1/c/c.safetensors", False)})
    wait_for(lambda: "c.safetensors" in os.listdir(mp / "checkpoints"), what="a new entry")
    assert os.readlink(mp / "checkpoints/c.safetensors").endswith("diffusion/sd1/c/c.safetensors")
    # Removal: the entry goes, and its folder goes once empty.
    rest = {p: e for p, e in plan.items() if not p.startswith("loras/")}
    v.set_plan(rest)
    wait_for(lambda: not (mp / "loras").exists(), what="an emptied folder to disappear")
    assert sorted(os.listdir(mp)) == ["checkpoints", "diffusers"]
    # A moved entry (the model renamed): old name gone, new name there.
    moved = {("checkpoints/renamed.safetensors" if p == "checkpoints/a.safetensors" else p): e for p, e in rest.items()}
    v.set_plan(moved)
    wait_for(lambda: (mp / "checkpoints/renamed.safetensors").is_symlink(), what="the moved entry")
    assert not os.path.lexists(mp / "checkpoints/a.safetensors")


def test_open_file_keeps_its_bytes_when_the_library_file_goes(view, lib):
    plan = plan_of(lib)
    v = view(plan, lib, content=True)
    src = lib / "diffusion/sd1/a/a.safetensors"
    old = src.read_bytes()
    path = v.mountpoint / "checkpoints/a.safetensors"
    with open(path, "rb") as held:
        assert held.read(1000) == old[:1000]
        # The library replaces the file (a new import under the same name) ...
        new = os.urandom(len(old))
        tmp = src.with_name("new.tmp")
        tmp.write_bytes(new)
        os.replace(tmp, src)
        v.set_plan({**plan, "checkpoints/zz.marker": ("diffusion/sd1/a", "diffusion/sd1/a/a.yaml", False)})
        wait_for(lambda: "zz.marker" in os.listdir(v.mountpoint / "checkpoints"), what="the update")
        # ... the holder keeps reading the bytes it opened,
        assert held.read() == old[1000:]
        held.seek(0)
        assert held.read() == old
        # while a new open sees the new file, never a mix.
        assert path.read_bytes() == new
        # Then the library file is removed altogether.
        src.unlink()
        held.seek(0)
        assert held.read() == old
    v.set_plan({p: e for p, e in plan.items() if p != "checkpoints/a.safetensors"})
    wait_for(lambda: not os.path.lexists(path), what="the removed entry")


def test_a_10000_entry_folder_lists_every_entry_once(view, tmp_path):
    lib = tmp_path / "lib"
    make_file(lib / "m/x/x.bin", b"x")
    names = [f"lora-{i:05d}.safetensors" for i in range(10_000)]
    v = view({f"loras/{n}": ("m/x", "m/x/x.bin", False) for n in names}, lib)
    listed = os.listdir(v.mountpoint / "loras")
    assert len(listed) == len(set(listed)) == 10_000
    assert sorted(listed) == names
    # Paging stays exact while entries come and go mid-listing.
    it = os.scandir(v.mountpoint / "loras")
    first = [next(it).name for _ in range(10)]
    changed = {f"loras/{n}": ("m/x", "m/x/x.bin", False) for n in names[::2]}
    changed["loras/aaa-new.safetensors"] = ("m/x", "m/x/x.bin", False)
    v.set_plan(changed)
    wait_for(lambda: "aaa-new.safetensors" in os.listdir(v.mountpoint / "loras"), what="the change")
    rest = [e.name for e in it]
    it.close()
    seen = first + rest
    assert len(seen) == len(set(seen))
    assert set(names[::2]) <= set(seen)  # every entry present throughout is listed, exactly once
    assert len(os.listdir(v.mountpoint / "loras")) == 5001


def test_lookup_counts_balance(view, lib):
    v = view(plan_of(lib), lib, content=True)
    for _ in range(3):
        walk(v.mountpoint)
        os.listdir(v.mountpoint / "checkpoints")
    assert v.stats()["referenced"] > 0
    # Dropping the kernel's dentries and inodes makes it send every forget.  This reaches the whole
    # machine (reclaimable caches only, never data): it needs root, and without it the test says so.
    drop = Path("/proc/sys/vm/drop_caches")
    if os.geteuid() != 0 or not os.access(drop, os.W_OK):
        pytest.skip("dropping the kernel's dentry/inode caches (to make it send FUSE forgets) needs root")
    drop.write_text("2")
    wait_for(lambda: v.stats()["referenced"] <= 1, what="forgets", timeout=20)


def test_sigterm_unmounts_cleanly(view, lib):
    v = view(plan_of(lib), lib)
    assert v.stop(signal.SIGTERM) == 0
    assert not is_mounted(v.mountpoint)


def test_sigint_unmounts_cleanly(view, lib):
    v = view(plan_of(lib), lib, content=True)
    with open(v.mountpoint / "checkpoints/a.safetensors", "rb") as f:
        f.read(10)
    assert v.stop(signal.SIGINT) == 0
    assert not is_mounted(v.mountpoint)


def test_view_is_private_to_the_mounting_user(view, lib):
    v = view(plan_of(lib), lib)
    res = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "ls", str(v.mountpoint)],
                         check=False, capture_output=True, text=True)
    assert res.returncode != 0
    assert "Permission denied" in res.stderr
