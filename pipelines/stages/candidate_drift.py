"""Drift of a candidate's training data against the training data of the model pinned
in production, found by the pin's data digest (never "the newest file").

Not the scheduled check of production's logged inputs: this compares two training sets."""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters.datastore import parse_table
from pipelines.core.consistency import resolve_features, resolve_target
from pipelines.core.contract import coerce_frame
from pipelines.core.drift import DriftReport
from pipelines.core.schemas import DriftPolicy, ModelSpec
from pipelines.stages.context import StageContext
from pipelines.tasks.drift import compute_drift


def candidate_drift(
    ctx: StageContext, spec: ModelSpec, *, html_path: Path
) -> tuple[DriftReport | None, str, str | None]:
    """(report, note, html path): report is None, with the reason in note, when there is nothing to compare."""
    ws = ctx.workspace
    pin = ws.pins.models.get(spec.name)
    if pin is None:
        return None, "no production model is pinned yet, so there is no production training data to compare with", None
    found = ctx.data_by_digest(pin.data_sha256)
    if found is None:
        return None, (
            f"production's training data (sha256 {pin.data_sha256[:12]}…) is neither a current data pointer nor in "
            "this repository's git history; drift not computed (CI needs a full checkout: fetch-depth: 0)"
        ), None
    pointer = ws.pointer_for(spec)
    current = ctx.table(spec.data, target=resolve_target(spec, pointer))
    if found.pointer == pointer:  # the same bytes under the same schema (e.g. only the spec changed): parse once
        reference = current
    else:
        reference, _ = coerce_frame(parse_table(found.content, spec.data, pointer=found.pointer), found.pointer)
    features = resolve_features(spec, pointer)
    same_type = [
        f
        for f in features
        if found.pointer.column(f) is not None and found.pointer.column(f).type == pointer.column(f).type
    ]
    skipped = [f for f in features if f not in same_type]
    with ctx.progress.step(f"drift of {len(same_type)} features vs production v{pin.version}'s training data"):
        report = compute_drift(
            reference, current,
            numeric=[f for f in same_type if pointer.column(f).type != "category"],
            categorical=[f for f in same_type if pointer.column(f).type == "category"],
            policy=ws.drift or DriftPolicy(),
            labels=(f"production v{pin.version} data {pin.data_sha256[:12]}", f"candidate data {pointer.sha256[:12]}"),
            html_path=html_path,
        )
    note = f"compared with {found.where}" + (f"; not compared (new or retyped): {skipped}" if skipped else "")
    return report, note, str(html_path)
