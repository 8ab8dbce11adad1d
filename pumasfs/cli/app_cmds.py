"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("app", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def app(args):
    """(not built yet)"""
    raise PumasError("`pumas app` is not built yet")
