"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("doctor", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def doctor(args):
    """(not built yet)"""
    raise PumasError("`pumas doctor` is not built yet")
