"""A trigger the worker processes of one host share: a file whose replacement asks each for a pass.

A webhook or `POST /reconcile` reaches one worker of `python -m serving --workers N`;
that worker replaces the file, and every other worker notices at its next look (its
wait between passes looks every CHECK_S seconds: one stat, no lock) and runs a pass at
once, as if the call had reached it. Without it the others would converge only on
their next poll.

No pull is lost: a worker compares what it sees with the file it last saw or wrote
itself (inode and mtime of its own file, taken before the rename), so another worker's
pull landing just after its own still differs. Two pulls within one look are seen as
one change, and run one pass: enough, as a pass reads the newest pin. A doubled pass
costs nothing: a pass is idempotent.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pipelines.adapters.atomic import write_atomic

CHECK_S = 0.2  # how often a waiting worker looks: the most a pull waits to reach every worker


class SharedTrigger:
    """The trigger file at `path`; `pull()` asks the other workers, `pulled()` says whether one asked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = self._stamp()  # a pull before this worker started was for a pin it reads anyway

    def pull(self) -> None:
        """Ask every other worker for a pass (this one is asked in-process; it does not see its own pull)."""
        # a new inode each time: no mtime granularity to trip on. Stamp the file this worker wrote, not
        # what is at the path now: that may be another worker's pull, which this one must still see.
        written = write_atomic(self.path, secrets.token_hex(8))
        self._seen = written.st_ino, written.st_mtime_ns

    def pulled(self) -> bool:
        """Whether another worker pulled since this one last looked."""
        stamp = self._stamp()
        changed, self._seen = stamp != self._seen, stamp
        return changed and stamp is not None

    def _stamp(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns
