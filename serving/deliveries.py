"""Webhook deliveries seen recently, so a replayed signed delivery is refused.

A captured signed request stays valid forever (GitHub's signature covers the body, not
a time); remembering each X-GitHub-Delivery for a window stops it being replayed to
drive git fetches. Bounded: the oldest ids go first. Nothing here does I/O.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

REPLAY_WINDOW_S = 3600.0
MAX_REMEMBERED = 10_000


class Deliveries:
    """Delivery ids seen within `window_s`; at most `limit` remembered."""

    def __init__(
        self, *, window_s: float = REPLAY_WINDOW_S, limit: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.limit = limit
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, delivery: str) -> bool:
        """Remember `delivery`; False when it was seen within the window (a replay)."""
        now = self.clock()
        while self._seen and (now - next(iter(self._seen.values())) >= self.window_s or len(self._seen) >= self.limit):
            self._seen.popitem(last=False)
        if delivery in self._seen:
            return False
        self._seen[delivery] = now
        return True
