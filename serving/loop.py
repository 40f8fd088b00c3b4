"""The background reconcile loop: a pass, then a jittered wait that a trigger cuts short.

Jitter keeps N replicas from hitting git and the registry in lockstep. Passes run in a
worker thread (git, MLflow and unpickling block); the reconciler's own lock keeps them
one at a time, also against `POST /reconcile`. A pass started by a trigger is a manual
one: retryable failures are tried at once instead of waiting out their backoff. With
several workers on one host a trigger also reaches the other workers through a
`SharedTrigger` file, which each looks at while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from serving.logs import event
from serving.reconciler import Reconciler
from serving.trigger import CHECK_S, SharedTrigger


def next_delay(interval_s: float, *, jitter: float, draw: float) -> float:
    """The wait before the next pass: `interval_s` times a factor in [1 - jitter, 1 + jitter)."""
    return interval_s * (1 + jitter * (2 * draw - 1))


class ReconcileLoop:
    """Runs passes forever between `start()` and `stop()`; `trigger()` asks for one now."""

    def __init__(
        self, reconciler: Reconciler, *, interval_s: float, jitter: float, draw: Callable[[], float] = random.random,
        shared: SharedTrigger | None = None,
    ) -> None:
        self.reconciler = reconciler
        self.shared = shared  # the other workers' trigger (python -m serving --workers N), else None
        self.interval_s = interval_s
        self.jitter = jitter
        self.draw = draw
        self._wake: asyncio.Event | None = None
        self._first: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Begin looping on the running event loop; the first pass starts at once."""
        self._wake = asyncio.Event()
        self._first = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="mlpin-reconcile")

    async def first_pass(self) -> None:
        """Return once the first pass has ended, whatever it came to (after `start()`)."""
        assert self._first is not None
        await self._first.wait()

    async def stop(self) -> None:
        """Stop looping; a pass already running in its thread finishes on its own."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def trigger(self) -> None:
        """Run a pass as soon as the current one (if any) is done, here and in the other workers.
        Event-loop thread only."""
        if self._wake is not None:
            self._wake.set()
        self.trigger_others()

    def trigger_others(self) -> None:
        """Ask the other workers on this host for a pass (nothing with one worker); when the
        trigger file cannot be written they converge on their next poll, and the log says why."""
        if self.shared is None:
            return
        try:
            self.shared.pull()
        except OSError as exc:
            event("trigger_failed", level=logging.WARNING, path=str(self.shared.path), message=str(exc))

    async def _run(self) -> None:
        assert self._wake is not None
        manual = False
        while True:
            self._wake.clear()  # a trigger during the pass below causes one more pass
            try:
                await asyncio.to_thread(self.reconciler.reconcile, manual=manual)
            except Exception:  # a bug must not end reconciling for the process's lifetime
                event("pass_failed", level=logging.ERROR, exc_info=True)
            assert self._first is not None
            self._first.set()
            manual = await self._wait()

    async def _wait(self) -> bool:
        """Wait out the jittered interval; True when a trigger cut it short (the next pass skips backoffs)."""
        assert self._wake is not None
        clock = asyncio.get_running_loop().time
        deadline = clock() + next_delay(self.interval_s, jitter=self.jitter, draw=self.draw())
        while (left := deadline - clock()) > 0:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(left, CHECK_S) if self.shared else left)
            except TimeoutError:
                if self.shared is not None and self.shared.pulled():
                    return True
                continue
            return True
        return False
