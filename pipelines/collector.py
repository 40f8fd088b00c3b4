"""How a command's process uses Python's cyclic garbage collector.

An mlpin command imports pandas, scikit-learn, MLflow and skops: a few million objects
that live until the process ends. With the default thresholds the collector re-traverses
them over and over while they are being imported, and once more at exit; measured on
`mlpin candidate`, that was over a quarter of its CPU time (5.0 s of user time, 3.6 s
with this module; same peak memory).
So a command collects young garbage less often (cycles are still found, only in larger
batches, so memory stays bounded), and at exit everything still alive is frozen: the
final collections then skip it (the operating system frees a process's memory anyway;
atexit handlers and files closed by their owners are unaffected).

Nothing happens on import; `tune_for_command` is the CLI's first step.
"""

from __future__ import annotations

import atexit
import gc

# Allocations between collections of the youngest generation (Python's default: 700), and
# how many collections of one generation trigger one of the next (default 10, 10).
THRESHOLDS = (10_000, 10, 10)

_frozen_at_exit = False


def tune_for_command() -> None:
    """Collect less often from now on, and skip the collector's pass over live objects at exit."""
    global _frozen_at_exit
    gc.set_threshold(*THRESHOLDS)
    if not _frozen_at_exit:
        atexit.register(gc.freeze)  # registered first, so it runs after the atexit handlers of what is imported later
        _frozen_at_exit = True
