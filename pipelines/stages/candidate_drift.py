"""Drift of a candidate's training data against the training data of the model pinned
in production, found by the pin's data digest (never "the newest file").

Not the scheduled check of production's logged inputs: this compares two training sets.
Verdicts come from the engine and the HTML page from `drifthtml`, so a tabular candidate
never imports Evidently (unless the policy names a method only Evidently implements)."""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters.datastore import parse_table
from pipelines.core.catalog import IMAGE_TASKS
from pipelines.core.consistency import resolve_features, resolve_target
from pipelines.core.contract import coerce_frame
from pipelines.core.drift import DriftReport
from pipelines.core.schemas import DriftPolicy, ModelSpec, PinnedModel
from pipelines.stages.context import StageContext
from pipelines.tasks.drift import compute_drift
from pipelines.tasks.drifthtml import render_drift_html


def candidate_drift(
    ctx: StageContext, spec: ModelSpec, *, html_path: Path
) -> tuple[DriftReport | None, str, str | None]:
    """(report, note, html path): report is None, with the reason in note, when there is nothing to compare."""
    ws = ctx.workspace
    pin = ws.pins.models.get(spec.name)
    if pin is None:
        return None, "no production model is pinned yet, so there is no production training data to compare with", None
    if spec.task in IMAGE_TASKS:
        return _image_drift(ctx, spec, pin=pin)
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
    numeric = [f for f in same_type if pointer.column(f).type != "category"]
    with ctx.progress.step(f"drift of {len(same_type)} features vs production v{pin.version}'s training data"):
        report = compute_drift(
            reference, current, numeric=numeric,
            categorical=[f for f in same_type if pointer.column(f).type == "category"],
            policy=ws.drift or DriftPolicy(),
            labels=(f"production v{pin.version} data {pin.data_sha256[:12]}", f"candidate data {pointer.sha256[:12]}"),
        )
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(render_drift_html(report, reference, current, numeric=numeric), encoding="utf-8")
    note = f"compared with {found.where}" + (f"; not compared (new or retyped): {skipped}" if skipped else "")
    return report, note, str(html_path)


def _image_drift(ctx: StageContext, spec: ModelSpec, *, pin: PinnedModel) -> tuple[DriftReport | None, str, str | None]:
    """The candidate's images against production's training images, each processed as its
    model sees them (raw folders through each one's ISP settings): per-image statistics
    (brightness, contrast, sharpness, noise per channel; colourfulness) and the MMD of
    production's CNN embeddings, each with a permutation p-value. For raw data that drifted,
    the most likely ISP change, by comparison with simulated ones."""
    from pipelines.tasks.imagedata import load_images
    from pipelines.tasks.imagedrift import image_drift

    ws = ctx.workspace
    found = next(((n, p) for n, p in sorted(ws.images.items()) if p.sha256 == pin.data_sha256), None)
    if found is None:
        return None, (f"production's training images (sha256 {pin.data_sha256[:12]}…) are not a current image folder "
                      "pointer; drift not computed"), None
    production = ctx.registry.load_verified(spec.name, pin.version, expected_sha256=pin.artifact_sha256)
    pointer = ws.images_for(spec)
    current = load_images(ctx.root, spec.data, pointer, isp=spec.isp)
    reference = load_images(ctx.root, found[0], found[1], isp=getattr(production, "isp", None))
    embeddings = {}
    if reference.images.shape[1:] == current.images.shape[1:] == _input_shape(production):
        embeddings = {"reference_embeddings": production.embed(reference.images),
                      "current_embeddings": production.embed(current.images)}
    policy = ws.drift or DriftPolicy()
    with ctx.progress.step(f"image drift vs production v{pin.version}'s training images"):
        settings = policy.images
        report = image_drift(reference.images, current.images, drift_share=policy.drift_share,
                             thresholds=settings.thresholds(), permutations=settings.permutations,
                             seed=settings.seed, verdict=settings.verdict,
                             labels=(f"production v{pin.version} images {pin.data_sha256[:12]}",
                                     f"candidate images {pointer.sha256[:12]}"), **embeddings)
    measures = "per-image statistics" + (" and the MMD of production's CNN embeddings" if embeddings else "")
    note = f"compared with data/{found[0]}.yaml ({measures}, permutation p-values)"
    if pointer.format == "raw_folder" and report.drifted:
        from pipelines.tasks.ispattribution import attribute_isp_change
        from pipelines.tasks.ispscenarios import SCENARIOS

        attribution = attribute_isp_change(reference.images, current.images, SCENARIOS)
        note += "; " + " ".join(attribution.lines())
    return report, note, None


def _input_shape(model: object) -> tuple[int, ...] | None:
    params = getattr(model, "params", None)
    return None if params is None else (*params.input_size, params.input_channels)
