"""Keeping the garbage collector's full passes short while serving.

A full pass walks every object the collector tracks, and what a loaded model brings
(scikit-learn, SciPy and pandas, imported on the first load, and the estimator itself)
is most of them: under load such passes ran about twice a second, each holding the GIL
long enough to stall every request in flight, and they were the single-row p99.
Objects that live as long as the model are moved out of the collector's reach once the
model is live, as `server.py` does for the app at startup; MLflow, imported on a first
download while requests are served, is imported with collection paused (its half-done
import would be walked by every full pass meanwhile) and frozen. Nothing here runs at import.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_after_swap(model: str, version: int) -> None:
    """A reconciler observer: `model` v`version` went live, so what its load imported and built
    is long-lived; full passes skip it from now on.

    The young generations are collected first (cheap: only objects made since the last pass),
    so short-lived cycles are not kept forever. A version swapped out later is freed by
    reference counting like any object; only a reference cycle inside it would outlive it."""
    gc.collect(1)
    gc.freeze()


@contextmanager
def long_lived_imports() -> Iterator[None]:
    """Automatic collection paused while the block imports a large library that stays (MLflow,
    ~2 s on a worker thread): every full pass meanwhile would walk the half-imported modules and
    stall the event loop. Then what the block left alive is frozen, uncollected: one pass over
    everything it made would be as long as those it avoided. Only for blocks that import, never
    for ones that wait on the network: what requests leave meanwhile is frozen too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
