"""Replacing an original file by a link to its library copy, and back (I/O).

The original path never stops resolving to the same bytes: the link is made
under a temporary name beside it (``.<name>.pumas-tmp``, the materializer's
own temporary name, which its sweep recognises) and renamed over the
original in one ``rename(2)``, only after the library copy is committed and
only if the original is still the very file that was hashed (device, inode,
size and modification time unchanged).
"""

from __future__ import annotations

import errno
import os
import stat

from materializer.links import HARDLINK, LinkSpec, make, temp_path
from pumasfs.base.atomic import fsync_dir
from pumasfs.base.errors import PumasError, os_error_text
from pumasfs.base.hashing import SourceStamp
from pumasfs.base.testhooks import kill_point


class Changed(PumasError):
    """The original changed (or vanished) after it was read: left as it is."""


def _clear_temp(tmp: str) -> None:
    try:
        st = os.lstat(tmp)
    except FileNotFoundError:
        return
    if not stat.S_ISLNK(st.st_mode) and st.st_nlink < 2:
        raise PumasError(f"{tmp}: a file pumas did not make holds its temporary name; left alone")
    os.unlink(tmp)


def _rename_over(tmp: str, abs_path: str, failure: str) -> None:
    """One rename(2) of the temporary name over the path; when it fails the temporary goes, the path stays.

    ``failure`` is the message after the path, ``{}`` standing for the OS error.
    """
    try:
        os.replace(tmp, abs_path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise PumasError(f"{abs_path}: " + failure.format(os_error_text(e))) from None


def probe_folder(folder: str) -> None:
    """Can a link be put in this folder?  Checked before any byte moves (read-only folders, full disks)."""
    tmp = os.path.join(folder, f".pumas-probe-{os.getpid()}.pumas-tmp")
    try:
        os.symlink("pumas-probe", tmp)
    except FileExistsError:
        pass
    except OSError as e:
        raise PumasError(f"{folder}: cannot write links here ({os_error_text(e)}); its files are left in place") from None
    try:
        os.unlink(tmp)
    except OSError:
        pass


def stamp_of(path: str) -> SourceStamp | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return SourceStamp.of(st) if stat.S_ISREG(st.st_mode) else None


def swap_in_link(abs_path: str, spec: LinkSpec, models_real: str, expect: SourceStamp, *,
                 durable: bool = False) -> None:
    """Put ``spec``'s link at ``abs_path`` in place of the original, atomically.

    ``durable``: fsync the folder now (a batch syncs its filesystem once at
    the end instead; until then a power cut simply leaves the original).
    """
    tmp = temp_path(abs_path)
    try:
        _clear_temp(tmp)
        make(spec, tmp, models_real)
    except OSError as e:
        raise PumasError(f"{abs_path}: cannot make its link ({os_error_text(e)}); the file is left in place") from None
    now = stamp_of(abs_path)
    if now != expect:
        os.unlink(tmp)
        what = "vanished" if now is None and not os.path.lexists(abs_path) else "changed"
        raise Changed(f"{abs_path}: {what} while it was being adopted; left as it is (run `pumas adopt` again)")
    made = os.lstat(tmp) if spec.kind == HARDLINK else None
    if now is not None and made is not None and (now.dev, now.ino) == (made.st_dev, made.st_ino):
        # A hardlink install whose original already is the library file (one inode): rename(2)
        # would do nothing and leave the temporary name; the path already shows the library's bytes.
        os.unlink(tmp)
        return
    kill_point("before-swap")
    _rename_over(tmp, abs_path, "cannot replace it by its link ({}); left in place")
    if durable:
        fsync_dir_quiet(os.path.dirname(abs_path))
    kill_point("swapped")


def fsync_dir_quiet(d: str) -> None:
    try:
        from pathlib import Path

        fsync_dir(Path(d))
    except OSError:
        pass


def restore_file(abs_path: str, library_file: str, *, move: bool) -> None:
    """Make the link at ``abs_path`` a real file with the library's bytes again, atomically.

    ``move``: the library's copy is about to be dropped, so a hardlink (no
    byte copied) is enough when both sit on one filesystem; otherwise a copy,
    fsynced and verified, takes the link's place.
    """
    from pathlib import Path

    from pumasfs.base.hashing import copy_and_hash, verify_on_disk

    tmp = temp_path(abs_path)
    _clear_temp(tmp)
    linked = False
    if move:
        try:
            os.link(library_file, tmp)
            linked = True
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise PumasError(f"{abs_path}: cannot restore ({os_error_text(e)})") from None
    if not linked:
        digest, _ = copy_and_hash(Path(library_file), Path(tmp))
        verify_on_disk(Path(tmp), digest.sha256)
    _rename_over(tmp, abs_path, "cannot restore ({})")
    fsync_dir_quiet(os.path.dirname(abs_path))
