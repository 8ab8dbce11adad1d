"""The one exception type for errors a user can cause.

Anything raised as :class:`PumasError` is printed by the CLI as a single line on
stderr and turns into a non-zero exit code.  Any other exception is a bug: it
shows a traceback only with ``--debug``.
"""

from __future__ import annotations

import errno

# Exit codes scripts can rely on.
EXIT_OK = 0
EXIT_ERROR = 1  # a user-caused error (bad input, refused operation)
EXIT_USAGE = 2  # click's own code for bad command lines
EXIT_CONFLICT = 3  # the plan met files we do not own; nothing was applied
EXIT_NOT_FOUND = 4  # a model, app or path that does not exist
EXIT_PARTIAL = 5  # a batch in which some items failed and others succeeded
EXIT_BUG = 70  # EX_SOFTWARE: an unexpected internal error


class PumasError(Exception):
    """A user-caused error with a one-line message."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class NotFound(PumasError):
    exit_code = EXIT_NOT_FOUND


class Conflict(PumasError):
    exit_code = EXIT_CONFLICT


def os_error_text(e: OSError) -> str:
    """An OSError's reason in words, with a full disk or quota said plainly."""
    if e.errno == errno.ENOSPC:
        return "no space left on device"
    if e.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return e.strerror or str(e)
