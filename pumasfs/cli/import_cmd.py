"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("import", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def import_(args):
    """(not built yet)"""
    raise PumasError("`pumas import` is not built yet")
