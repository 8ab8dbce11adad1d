"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("identify", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def identify(args):
    """(not built yet)"""
    raise PumasError("`pumas identify` is not built yet")
