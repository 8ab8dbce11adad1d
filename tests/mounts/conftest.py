"""`pumas mounts` tests mount real FUSE views through the CLI: the view area's guards and cleanup apply."""

from tests.view.conftest import _need_fuse, cli_mounts  # noqa: F401 (fixtures)
