"""The object every command receives: the library root and global flags."""

from __future__ import annotations

from pathlib import Path

import click

from pumasfs.usecases.workspace import Workspace, check_root

__all__ = ["State", "pass_state", "check_root"]


class State(Workspace):
    """What every command receives: the workspace of use cases, plus global flags."""

    def __init__(self, root: Path, debug: bool) -> None:
        super().__init__(root)
        self.debug = debug


pass_state = click.make_pass_decorator(State)
