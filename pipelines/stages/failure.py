"""One model's failure inside a multi-model stage, as data: its kind, message and lines.

`mlpin candidate` and `mlpin propose` assess several models; an error in one, even an
unexpected exception (a bug), is reported for that model and the others go on. A bug's
traceback goes to the log (stderr), where whoever reports it will find it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipelines.core.errors import MlpinError
from pipelines.core.outcome import Kind

log = logging.getLogger("mlpin")


@dataclass(frozen=True)
class Failure:
    """What went wrong, in the outcome vocabulary."""

    kind: Kind
    message: str
    lines: list[str]


def failure_of(exc: BaseException, *, subject: str) -> Failure:
    """The failure an exception stands for; an unexpected one is logged with its traceback."""
    if isinstance(exc, MlpinError):
        return Failure(exc.kind, exc.message, exc.lines())
    log.error("mlpin bug while working on %s", subject, exc_info=exc)
    message = f"unexpected error (a bug in mlpin): {type(exc).__name__}: {exc}"
    return Failure(Kind.BUG, message, [message, "  - the traceback is in this job's log; please report it"])
