"""The `pumas` program: what the installed `pumas` script and `python -m pumasfs` run.

Importing this module turns garbage collection off, before the CLI's modules load: start-up
allocates what lives as long as the process (modules, classes, functions, click's objects), and
collections over it while it grows cost 2 ms of every command.  main() turns the collector back
on (start-up's objects frozen out of it) before the command runs.  Only the program imports this
module; everything else imports pumasfs.cli.main.
"""

import gc

gc.disable()

from pumasfs.cli.main import main  # noqa: E402  (after the collector is off)


def run() -> None:
    main()
