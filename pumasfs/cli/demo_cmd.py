"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("demo", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def demo(args):
    """(not built yet)"""
    raise PumasError("`pumas demo` is not built yet")
