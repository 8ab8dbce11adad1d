"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("materialize", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def materialize(args):
    """(not built yet)"""
    raise PumasError("`pumas materialize` is not built yet")


@click.command("sync", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def sync(args):
    """(not built yet)"""
    raise PumasError("`pumas sync` is not built yet")


@click.command("relocate", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def relocate(args):
    """(not built yet)"""
    raise PumasError("`pumas relocate` is not built yet")
