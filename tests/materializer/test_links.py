"""Choosing a link strategy from the filesystems involved (mount table parsing, NTFS, no-link filesystems)."""

from __future__ import annotations

import os

import pytest

from materializer.fsinfo import Mount, mount_of, parse_mountinfo
from materializer.links import ABSOLUTE, HARDLINK, RELATIVE, check_relpath, choose_kind
from pumasfs.base.errors import PumasError

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:39 / /media/me/My\\040Drive rw,relatime - fuseblk /dev/sdb1 rw,user_id=0
41 22 0:40 / /media/me/My\\040Drive/inner rw - tmpfs tmpfs rw
42 22 0:41 / /mnt/stick rw - exfat /dev/sdc1 rw
"""


def test_mountinfo_parsing_unescapes_and_picks_the_longest_mount_point():
    table = parse_mountinfo(MOUNTINFO)
    assert [m.mountpoint for m in table] == ["/", "/media/me/My Drive", "/media/me/My Drive/inner", "/mnt/stick"]
    assert mount_of("/media/me/My Drive/inner/x", table).fstype == "tmpfs"
    assert mount_of("/media/me/My Drive/x", table).source == "/dev/sdb1"
    assert mount_of("/media/me/My Drivex", table).mountpoint == "/"


def test_same_filesystem_gives_relative_symlinks_and_ntfs_gives_hardlinks():
    ext4 = Mount("/", "ext4", "/dev/sda1")
    ntfs3 = Mount("/win", "ntfs3", "/dev/sdb1")
    assert choose_kind(ext4, 1, ext4, 1, None, "/app") == (RELATIVE, None)
    assert choose_kind(ntfs3, 2, ntfs3, 2, "auto", "/win/app") == (HARDLINK, None)
    # The user's override wins where it can work.
    assert choose_kind(ntfs3, 2, ntfs3, 2, "relative-symlink", "/win/app") == (RELATIVE, None)


def test_two_filesystems_give_absolute_links_and_name_the_drive_that_must_stay_mounted():
    lib = Mount("/media/me/Models", "ext4", "/dev/sdb1")
    app = Mount("/", "ext4", "/dev/sda1")
    kind, warning = choose_kind(lib, 2, app, 1, None, "/home/me/ComfyUI/models/checkpoints")
    assert kind == ABSOLUTE
    assert "/dev/sdb1 mounted at /media/me/Models" in warning and "must stay mounted" in warning
    with pytest.raises(PumasError, match="one filesystem"):
        choose_kind(lib, 2, app, 1, "hardlink", "/home/me/ComfyUI/models/checkpoints")


@pytest.mark.parametrize("fstype", ["vfat", "exfat", "cifs"])
def test_filesystems_without_links_are_refused_by_name(fstype):
    lib = Mount("/", "ext4", "/dev/sda1")
    stick = Mount("/mnt/stick", fstype, "/dev/sdc1")
    with pytest.raises(PumasError, match=f"{fstype} .*supports neither symlinks nor hardlinks"):
        choose_kind(lib, 1, stick, 3, None, "/mnt/stick/ComfyUI/models")


def test_the_real_mount_table_knows_this_test_directory(tmp_path):
    m = mount_of(tmp_path)
    assert os.path.realpath(tmp_path).startswith(m.mountpoint)
    assert m.fstype and m.fstype != "unknown"


@pytest.mark.parametrize("bad", ["", "/abs", "a/../b", "a//b", "./a", "a/.", "x\0y"])
def test_plan_paths_that_could_leave_their_folder_are_refused(bad):
    with pytest.raises(PumasError, match="unsafe"):
        check_relpath(bad, "app")
