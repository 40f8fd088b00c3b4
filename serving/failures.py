"""Why a reconcile step failed, carried by the failure itself.

Each step (read the pin, parse it, fetch, load, smoke test) translates the errors it
knows into a ReconcileFailure at its own boundary: the status reason, a one-line
message, and whether trying the same pin again can help. Anything a step does not know
is a bug in serving: `step` logs it with a short reference id and reports InternalError,
so an unexpected exception is never reported as an outside system's outage.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.core.sync import Reason
from serving.logs import event


class ReconcileFailure(Exception):
    """A step's failure: its status reason, a message, and whether it is terminal for this pin."""

    def __init__(self, reason: Reason, message: str, *, terminal: bool) -> None:
        super().__init__(message)
        self.reason, self.message, self.terminal = reason, message, terminal


@contextmanager
def step(name: str, *, model: str = "") -> Iterator[None]:
    """Run one step: its own failures pass through, anything else becomes a logged InternalError."""
    try:
        yield
    except ReconcileFailure:
        raise
    except Exception as exc:
        ref = secrets.token_hex(4)
        event("internal_error", level=logging.ERROR, exc_info=True, step=name, model=model or None, ref=ref)
        # retryable: a bug may hinge on state that changes (a file, the registry's answer)
        raise ReconcileFailure(
            "InternalError", f"internal error (see the serving log, ref {ref})", terminal=False
        ) from exc
