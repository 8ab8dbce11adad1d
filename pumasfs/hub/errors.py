"""What can go wrong talking to the hub, as two kinds a caller handles differently.

:class:`HubUnavailable` means "try again later" (offline, no network, DNS,
timeouts, rate limits, 5xx, the batch's request budget or deadline spent):
lookups leave the model pending and imports never notice.  :class:`HubRefused`
means the hub answered and the answer is no (no such repo, revision or file;
gated; bad token): retrying will not help.
"""

from __future__ import annotations

from pumasfs.base.errors import NotFound, PumasError


class HubUnavailable(PumasError):
    """The hub could not be asked right now; nothing was decided."""

    retryable = False  # a 429/5xx worth another try within the same batch
    retry_after: float | None = None


class HubRefused(PumasError):
    """The hub answered with a definite refusal."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # not_found | revision_not_found | entry_not_found | gated | unauthorized | invalid


class HubNotFound(HubRefused, NotFound):
    """A repo, revision or file the hub does not have (exit code 4)."""
