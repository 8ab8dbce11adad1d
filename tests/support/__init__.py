"""Helpers every test area uses, written once.

- ``cli``: run the real ``pumas`` command in a subprocess with a clean environment (``Run``,
  ``run_pumas``, ``assert_one_line_error``).
- ``models``: put a model in a library the way an import commits it, without the importer.
- ``safetensors``: real safetensors (and raw pickle) files, deterministic bytes.
- ``comfyui``: a ComfyUI install as a checkout leaves it.
- ``mounts``: real tmpfs and NTFS (ntfs-3g) mounts, always unmounted.
- ``fs``: snapshots of a folder tree, to prove that nothing else changed.
- ``net``: a port nothing listens on.

The area conftests re-export these under their old names, so tests importing
from ``tests.materializer.conftest`` or ``tests.hub.conftest`` keep working.
"""
