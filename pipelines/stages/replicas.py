"""`mlpin replicas`: ask every serving replica what it serves and whether it has converged.

The operator's view after a deploy: per replica and model the desired version (the
checked-out pin, when run inside the repository), the live one, its condition and the
pin revision the replica read; then how many replicas have converged. Reads only.
"""

from __future__ import annotations

from pipelines.adapters import git
from pipelines.adapters.replicastatus import read_replicas, replica_urls
from pipelines.adapters.yamlfile import load_document
from pipelines.core.convergence import ConvergenceRun, judge_replicas
from pipelines.core.schemas import ProductionPins
from pipelines.core.workspace import PIN_PATH
from pipelines.stages.context import StageContext


def replicas(ctx: StageContext, *, urls: list[str], timeout_s: float) -> ConvergenceRun:
    """Every replica's verdict against the checked-out pin (each its own pin outside a repository)."""
    targets = replica_urls(urls, ctx.environ)  # InvalidInput before any request
    pins, reference = None, None
    if (ctx.root / PIN_PATH).is_file():
        pins = load_document(ctx.root, PIN_PATH, schema=ProductionPins)
        head = git.head_commit(ctx.root)
        reference = f"{PIN_PATH} checked out" + (f" at {head[:12]}" if head else "")
    with ctx.progress.step(f"asking {len(targets)} replica{'s' if len(targets) != 1 else ''} for /status"):
        readings = read_replicas(targets, timeout_s=timeout_s)
    return judge_replicas(readings, pins=pins, reference=reference)
