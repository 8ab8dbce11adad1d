"""Extended attributes that let a library file say which model it belongs to.

The FUSE view's content-mode entries answer ``user.pumas.model_id`` and
``user.pumas.source`` themselves.  Preview entries are symlinks, and Linux
refuses ``user.*`` attributes on symlinks, so the library's weight files carry
the same two attributes: ``getfattr`` on a preview entry (or on a hardlink an
app holds) follows the link and finds them.  They are a convenience, never a
source of truth: filesystems without user xattrs simply go without.
"""

from __future__ import annotations

import os
from pathlib import Path

from pumasfs.store.metadata import ModelMetadata

MODEL_ID = "user.pumas.model_id"
SOURCE = "user.pumas.source"


def tag_model_files(model_dir: Path, meta: ModelMetadata, final_dir: Path | None = None, *,
                    real: bool = False) -> None:
    """Tag the weight files in ``model_dir``; ``source`` names them at ``final_dir`` (where they will live).

    ``real``: ``final_dir`` is already free of links (a batch resolves the library once, not per model).
    """
    where = Path(final_dir or model_dir)
    if not real:
        where = where.resolve()
    for f in meta.weight_files():
        path = Path(model_dir) / f.name
        try:
            os.setxattr(path, MODEL_ID, meta.model_id.encode(), follow_symlinks=False)
            os.setxattr(path, SOURCE, os.fsencode(where / f.name), follow_symlinks=False)
        except OSError:
            return  # no user xattrs here (or a file gone): the metadata still says it all
