"""Keeping the garbage collector's full passes short while serving.

A full pass walks every object the collector tracks, and what a loaded model brings
(scikit-learn, SciPy and pandas, imported on the first load, and the estimator itself)
is most of them: under load such passes ran about twice a second, each holding the GIL
long enough to stall every request in flight, and they were the single-row p99.
Objects that live as long as the model are moved out of the collector's reach once the
model is live, and what MLflow's import brought once it is imported (a first download),
as `server.py` does for the app at startup. Nothing here runs at import.
"""

from __future__ import annotations

import gc


def freeze_after_swap(model: str, version: int) -> None:
    """A reconciler observer: `model` v`version` went live, so what its load imported and built
    is long-lived; full passes skip it from now on."""
    freeze_long_lived()


def freeze_long_lived() -> None:
    """Move every object alive now out of the collector's full passes (after an import that stays,
    such as MLflow's on the first download, or a load).

    The young generations are collected first (cheap: only objects made since the last pass),
    so short-lived cycles are not kept forever. A version swapped out later is freed by
    reference counting like any object; only a reference cycle inside it would outlive it."""
    gc.collect(1)
    gc.freeze()
