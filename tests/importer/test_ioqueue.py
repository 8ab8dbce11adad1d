"""Drive detection: SSD or HDD behind each path, and how many copies may run at once."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pumasfs.base import ioqueue
from pumasfs.base.ioqueue import _rotational, concurrency_for, drive_of

from .helpers import is_root, tmpfs


def test_memory_filesystem_counts_as_ssd(tmp_path: Path):
    with tmpfs(tmp_path / "a", "1m") as a, tmpfs(tmp_path / "b", "1m") as b:
        assert drive_of(a).kind == "memory" and not drive_of(a).rotational
        assert concurrency_for([a, b]) == ioqueue.SSD_CONCURRENCY
        assert drive_of(a / "not" / "yet" / "there").kind == "memory"  # nearest existing parent


def test_root_filesystem_matches_sysfs(tmp_path: Path):
    drive = drive_of(tmp_path)
    if drive.device is None:
        pytest.skip(f"{tmp_path} is on {drive.fstype}, which has no block device here")
    expected = (Path("/sys/class/block") / drive.device / "queue" / "rotational").read_text().strip() == "1"
    assert drive.rotational == expected
    assert concurrency_for([tmp_path]) == (1 if expected else 2)


@pytest.fixture
def loop_mount(tmp_path: Path):
    """A real ext4 filesystem on a loop device whose rotational flag the test can set."""
    if not is_root() or shutil.which("losetup") is None or shutil.which("mkfs.ext4") is None:
        pytest.skip("needs root, losetup and mkfs.ext4 for a real block device")
    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.truncate(32 * 1024 * 1024)
    p = subprocess.run(["losetup", "-f", "--show", str(img)], check=False, capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"no loop devices here: {p.stderr.strip()}")
    dev = p.stdout.strip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        subprocess.run(["mkfs.ext4", "-q", dev], check=True)
        subprocess.run(["mount", dev, str(mnt)], check=True)
        yield Path(dev).name, mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
        subprocess.run(["losetup", "-d", dev], check=False)


@pytest.mark.parametrize("flag", ["0", "1"])
def test_loop_device_rotational_flag_is_followed(loop_mount, tmp_path: Path, flag: str):
    name, mnt = loop_mount
    knob = Path("/sys/block") / name / "queue" / "rotational"
    try:
        knob.write_text(flag)
    except OSError as e:
        pytest.skip(f"cannot set {knob}: {e.strerror}")
    if knob.read_text().strip() != flag:
        pytest.skip(f"{knob} did not take the value {flag}")
    drive = drive_of(mnt)
    assert drive.device == name
    assert drive.kind == ("hdd" if flag == "1" else "ssd")
    with tmpfs(tmp_path / "mem", "1m") as mem:
        assert concurrency_for([mem, mnt]) == (1 if flag == "1" else 2)


def _disk(root: Path, name: str, rotational: str | None) -> Path:
    d = root / name
    (d / "queue").mkdir(parents=True)
    (d / "slaves").mkdir()
    if rotational is not None:
        (d / "queue" / "rotational").write_text(rotational + "\n")
    return d


def test_partitions_nvme_namespaces_and_stacked_devices(tmp_path: Path):
    # The same shapes sysfs has: a partition folder inside its disk, dm/md with slaves/ links.
    nvme = _disk(tmp_path, "nvme0n1", "0")
    part = nvme / "nvme0n1p2"
    part.mkdir()
    (part / "partition").write_text("2\n")
    hdd = _disk(tmp_path, "sda", "1")
    ssd = _disk(tmp_path, "sdb", "0")
    assert _rotational(part) is False
    assert _rotational(hdd) is True

    dm_fast = _disk(tmp_path, "dm-0", "0")
    os.symlink(part, dm_fast / "slaves" / "nvme0n1p2")
    assert _rotational(dm_fast) is False

    md_mixed = _disk(tmp_path, "md0", None)
    os.symlink(ssd, md_mixed / "slaves" / "sdb")
    os.symlink(hdd, md_mixed / "slaves" / "sda")
    assert _rotational(md_mixed) is True  # as slow as its slowest member

    unknown = _disk(tmp_path, "weird0", None)
    assert _rotational(unknown) is None


def test_unknown_storage_is_treated_as_sequential():
    assert ioqueue.Drive("unknown", None, "fuse").rotational
    assert not ioqueue.Drive("memory", None, "tmpfs").rotational
