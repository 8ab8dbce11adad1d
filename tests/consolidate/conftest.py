"""Fixtures borrowed from other areas (imported, not copied)."""

from ..yaml_mode.conftest import world  # noqa: F401  (the yaml-mode world: a library and a links-mode install)
