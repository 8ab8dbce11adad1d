"""The link types a user can choose for an app install (``--link-type``): names only.

What each kind does (make, recognise, check, remove) is the table in
``materializer/links.py``; this module stays free of imports so that reading
commands can name the kinds without loading the materializer.
"""

from __future__ import annotations

LINK_TYPES: tuple[str, ...] = ("auto", "relative-symlink", "absolute-symlink", "hardlink")
