"""Placeholder: replaced by the module that builds this command."""

import click

from ..errors import PumasError


@click.command("mount", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def mount(args):
    """(not built yet)"""
    raise PumasError("`pumas mount` is not built yet")


@click.command("umount", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def umount(args):
    """(not built yet)"""
    raise PumasError("`pumas umount` is not built yet")


@click.command("mounts", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1)
def mounts(args):
    """(not built yet)"""
    raise PumasError("`pumas mounts` is not built yet")
