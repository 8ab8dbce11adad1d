"""The real-mount fixtures of tests/view, reused (not copied)."""

from tests.view.conftest import _need_fuse, pytest_configure, view  # noqa: F401
