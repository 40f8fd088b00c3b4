"""Which version actually answered at a time: the logged request nearest before it, and
the first one after, from serving's prediction log.

Pure: the caller reads the log (`adapters/requestlog.py`) and passes the requests in,
streamed; only the two nearest are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel


class LoggedRequest(BaseModel):
    """One answered request as serving logged it: which version answered, and when it arrived."""

    request_id: str
    time: datetime
    version: int


class Answered(BaseModel):
    """The requests around a time: the last at or before it (whose version answered then)
    and the first after it."""

    before: LoggedRequest | None = None
    after: LoggedRequest | None = None
    skipped_lines: int = 0  # log lines that were not a request of this model's (unreadable)

    @property
    def version(self) -> int | None:
        """The version that answered nearest before the time (None: no request before it)."""
        return self.before.version if self.before else None

    @property
    def swapped_between(self) -> bool:
        """Whether the versions before and after differ: serving swapped between the two requests."""
        return self.before is not None and self.after is not None and self.before.version != self.after.version


def answered_at(requests: Iterable[LoggedRequest], when: datetime) -> Answered:
    """The requests nearest before (at or before `when`) and after `when`, in any input order."""
    before = after = None
    for request in requests:
        if request.time <= when:
            if before is None or request.time >= before.time:
                before = request
        elif after is None or request.time < after.time:
            after = request
    return Answered(before=before, after=after)
