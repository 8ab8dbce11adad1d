"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("list", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def list_(args):
    """(not built yet)"""
    raise PumasError("`pumas list` is not built yet")


@click.command("show", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def show(args):
    """(not built yet)"""
    raise PumasError("`pumas show` is not built yet")


@click.command("edit", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def edit(args):
    """(not built yet)"""
    raise PumasError("`pumas edit` is not built yet")


@click.command("rm", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def rm(args):
    """(not built yet)"""
    raise PumasError("`pumas rm` is not built yet")


@click.command("scan", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def scan(args):
    """(not built yet)"""
    raise PumasError("`pumas scan` is not built yet")
