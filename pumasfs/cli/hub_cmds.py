"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("enrich", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def enrich(args):
    """(not built yet)"""
    raise PumasError("`pumas enrich` is not built yet")


@click.command("download", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def download(args):
    """(not built yet)"""
    raise PumasError("`pumas download` is not built yet")
