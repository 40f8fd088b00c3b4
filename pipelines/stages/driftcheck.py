"""`mlpin drift check`: the scheduled drift check of production.

For each pinned model: the logged inputs (and outputs) of its pinned version within the
window, read from serving's prediction logs (a folder or any fsspec URI), against the
training data of that version, found by the pin's `data_sha256` and verified (never "the
newest file"). Per-feature tests as `policies/drift.yaml` sets them, prediction drift as its
own line, "not enough data" below `min_rows`. Writes a markdown report, Evidently's HTML
(on a sample when the window is large) and a JSON summary, records an MLflow run in the
model's experiment with every score as a metric, and keeps the model's drift issue up to
date (`pipelines.core.driftcheck`). A failure in one model is that model's outcome.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipelines.adapters.pinreader import redacted
from pipelines.core.catalog import IMAGE_TASKS
from pipelines.core.drift import DriftReport, FeatureDrift
from pipelines.core.driftcheck import DriftCheck, drift_marker, plan_issue, render_check
from pipelines.core.errors import InvalidInput
from pipelines.core.lineage import tag
from pipelines.core.outcome import Kind
from pipelines.core.schemas import DriftPolicy, PinnedModel
from pipelines.stages.context import StageContext
from pipelines.stages.failure import failure_of

LOG_URI_VARIABLE = "MLPIN_LOG_URI"
DEFAULT_LOGS = ".mlpin/predictions"  # serving's MLPIN_LOG_DIR, relative to the repository
OUTPUT = "__output"
METRIC_NAME = re.compile(r"[^A-Za-z0-9_.\- /]")


class DriftOutcome(BaseModel):
    """What the check came to for one model."""

    model: str
    outcome: str  # drifted | clean | not_enough_data | not_pinned | error
    headline: str
    kind: Kind = Kind.DONE
    check: DriftCheck | None = None
    issue: str | None = None  # the issue's number
    issue_url: str | None = None
    issue_action: str = "none"
    run_id: str | None = None
    report: str | None = None


class DriftRun(BaseModel):
    """Every checked model's outcome."""

    logs: str
    window_start: datetime
    window_end: datetime
    outcomes: list[DriftOutcome]


def default_logs(ctx: StageContext) -> str:
    """`MLPIN_LOG_URI` (where serving ships closed log files), else serving's local folder."""
    return ctx.environ.get(LOG_URI_VARIABLE) or str(ctx.root / DEFAULT_LOGS)


def drift_check(ctx: StageContext, *, model: str | None = None, logs: str | None = None,
                window: timedelta | None = None, since: datetime | None = None, out_dir: Path,
                issues: bool = True) -> DriftRun:
    """Check every pinned model (or `model`) over the window ending now."""
    ws = ctx.workspace
    policy = ws.drift or DriftPolicy()
    end = ctx.clock()
    start = since if since is not None else end - (window or timedelta(hours=policy.window_hours))
    if start >= end:
        raise InvalidInput(f"the window starts at {start.isoformat()}, not before now ({end.isoformat()})")
    if model is not None and model not in ws.specs:
        raise InvalidInput(f"no model '{model}'; models: {', '.join(sorted(ws.specs)) or 'none'}")
    uri = logs or default_logs(ctx)
    names = [model] if model else sorted(ws.specs)
    outcomes = []
    for name in names:
        try:
            outcomes.append(_one(ctx, name, uri=uri, start=start, end=end, policy=policy, out_dir=out_dir,
                                 issues=issues))
        except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others
            failure = failure_of(exc, subject=name)
            outcomes.append(DriftOutcome(model=name, outcome="error", headline=failure.message, kind=failure.kind))
    return DriftRun(logs=redacted(uri), window_start=start, window_end=end, outcomes=outcomes)


def _one(ctx: StageContext, model: str, *, uri: str, start: datetime, end: datetime, policy: DriftPolicy,
         out_dir: Path, issues: bool) -> DriftOutcome:
    pin = ctx.workspace.pins.models.get(model)
    if pin is None:
        return DriftOutcome(model=model, outcome="not_pinned",
                            headline="nothing pinned: no production traffic to check")
    check = measure(ctx, model, pin=pin, uri=uri, start=start, end=end, policy=policy,
                    html_path=out_dir / model / "drift.html")
    report = _write_report(check, out_dir / model)
    run_id = _record(ctx, check, report=report, uri=uri)
    outcome = DriftOutcome(model=model, outcome=check.verdict, headline=check.headline(), check=check,
                           kind=Kind.BLOCKED if check.verdict == "drifted" else Kind.DONE, run_id=run_id,
                           report=str(out_dir / model / "report.md"))
    if not issues:
        return outcome
    return _update_issue(ctx, outcome, check, policy=policy)


def measure(ctx: StageContext, model: str, *, pin: PinnedModel, uri: str, start: datetime, end: datetime,
            policy: DriftPolicy, html_path: Path | None) -> DriftCheck:
    """The check of one pinned model: its logged rows in the window against its training data."""
    from pipelines.adapters.predictionlog import read_window

    if ctx.workspace.spec(model).task in IMAGE_TASKS:
        return _measure_images(ctx, model, pin=pin, uri=uri, start=start, end=end, policy=policy)
    reference, pointer, where = _reference(ctx, model, pin=pin)
    fitted = ctx.registry.load_verified(model, pin.version, expected_sha256=pin.artifact_sha256)
    features = [str(c) for c in getattr(fitted, "feature_names_in_", [])] or [
        c for c in reference.columns if c != pointer.target]
    with ctx.progress.step(f"reading {model} v{pin.version}'s logged requests"):
        # the clock is to the second: the whole current second belongs to the window
        window = read_window(uri, model, since=start, until=end + timedelta(seconds=1), version=pin.version,
                             columns=features)
    base = {
        "model": model, "version": pin.version, "window_start": start, "window_end": end,
        "reference": where, "reference_rows": len(reference), "rows": window.rows, "requests": window.requests,
        "min_rows": policy.min_rows, "skipped_lines": window.skipped_lines,
        "other_versions": {v: n for v, n in window.versions.items() if v != pin.version},
    }
    if window.rows < policy.min_rows:
        return DriftCheck(**base)
    categorical = [f for f in features if (c := pointer.column(f)) is not None and c.type == "category"]
    numeric = [f for f in features if f not in categorical]
    current = _typed(window.frame, numeric=numeric, categorical=categorical)
    from pipelines.tasks.drift import compute_drift

    labels = (f"v{pin.version} training data", f"v{pin.version} logged inputs")
    with ctx.progress.step(f"drift of {len(features)} features over {window.rows} logged rows"):
        report = compute_drift(reference, current, numeric=numeric, categorical=categorical, policy=policy,
                               labels=labels, html_path=html_path)
    prediction = _prediction_drift(fitted, reference[features], window.frame.get(OUTPUT), policy=policy,
                                   categorical=ctx.workspace.spec(model).task == "classification")
    return DriftCheck(**base, report=report, prediction=prediction,
                      html=str(html_path) if html_path is not None else None)


def _reference(ctx: StageContext, model: str, *, pin: PinnedModel):
    """The pinned version's training data, by its digest (verified), typed by its own pointer."""
    from pipelines.adapters.datastore import parse_table
    from pipelines.core.contract import coerce_frame

    found = ctx.data_by_digest(pin.data_sha256)
    if found is None:
        raise InvalidInput(
            f"{model} v{pin.version}'s training data (sha256 {pin.data_sha256[:12]}…) is neither a current data "
            "pointer nor in this repository's git history (CI needs a full checkout: fetch-depth: 0)")
    spec = ctx.workspace.spec(model)
    frame, _ = coerce_frame(parse_table(found.content, spec.data, pointer=found.pointer), found.pointer)
    return frame, found.pointer, f"{found.where} (sha256 {pin.data_sha256[:12]})"


def _typed(frame: Any, *, numeric: list[str], categorical: list[str]) -> Any:
    """Logged inputs typed as the training data: numbers as float, categories as text."""
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    for column in numeric:
        out[column] = pd.to_numeric(frame[column], errors="coerce") if column in frame else float("nan")
    for column in categorical:
        out[column] = frame[column].astype("string") if column in frame else pd.NA
    return out


def _prediction_drift(fitted: Any, reference: Any, outputs: Any, *, policy: DriftPolicy,
                      categorical: bool) -> FeatureDrift | None:
    """Drift of the model's logged outputs against its own predictions on its training data."""
    if outputs is None or outputs.dropna().empty:
        return None
    import pandas as pd

    from pipelines.tasks.drift import compute_drift

    ours = pd.DataFrame({"prediction": fitted.predict(reference)})
    logged = pd.DataFrame({"prediction": outputs.dropna().to_numpy()})
    if categorical:
        ours, logged = ours.astype("string"), logged.astype("string")
    else:
        logged = logged.apply(pd.to_numeric, errors="coerce")
    columns = ["prediction"]
    found = compute_drift(ours, logged, policy=DriftPolicy(drift_share=policy.drift_share),
                          numeric=[] if categorical else columns, categorical=columns if categorical else [],
                          labels=("predictions on the training data", "logged predictions"))
    return found.features[0] if found.features else None


def _write_report(check: DriftCheck, folder: Path) -> str:
    from pipelines.adapters.atomic import write_atomic

    text = "\n".join([f"# Drift check of {check.model} v{check.version}", "", f"**{check.headline()}**", "",
                      *render_check(check)]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "report.md", text)
    write_atomic(folder / "check.json", check.model_dump_json(indent=2) + "\n")
    return text


def _record(ctx: StageContext, check: DriftCheck, *, report: str, uri: str) -> str:
    """An MLflow run in the model's experiment: every score a metric, linked to the live version."""
    metrics: dict[str, float] = {"drift.rows": float(check.rows), "drift.requests": float(check.requests)}
    if check.report is not None:
        metrics["drift.share"] = check.report.share
        for f in check.report.features:
            metrics[_metric(f"drift.{f.column}")] = f.score
    if check.prediction is not None:
        metrics["drift.prediction"] = check.prediction.score
    tags = {tag("kind"): "drift_check", tag("model_version"): str(check.version), tag("verdict"): check.verdict,
            tag("window_start"): check.window_start.isoformat(), tag("window_end"): check.window_end.isoformat(),
            tag("logs"): redacted(uri), tag("findings"): ", ".join(check.findings) or "none"}
    run_id = ctx.registry.log_check(check.model, name=f"drift check {check.window_end:%Y-%m-%d %H:%M}",
                                    metrics=metrics, tags=tags, texts={"drift/report.md": report})
    # the version points back at its latest check, so the MLflow UI links the two both ways
    ctx.registry.tag_version(check.model, check.version, {tag("drift_check_run"): run_id,
                                                          tag("drift_verdict"): check.verdict})
    return run_id


def _update_issue(ctx: StageContext, outcome: DriftOutcome, check: DriftCheck, *, policy: DriftPolicy) -> DriftOutcome:
    forge, fingerprint = ctx.forge, drift_marker(check.model)
    found = forge.find_issue(fingerprint)
    plan = plan_issue(check, issue_state=found.state if found else None, issue_body=found.body if found else None,
                      settings=policy.issue, retrain=retrain_command(check.model))
    ref = found
    if plan.action in ("open", "update", "comment"):
        ref = forge.open_issue(fingerprint=fingerprint, title=plan.title, body=plan.body, labels=policy.issue.labels)
        if plan.comment:
            forge.comment_issue(ref.number, plan.comment)
    elif plan.action == "close" and found is not None:
        forge.close_issue(found.number, comment=plan.comment)
    return outcome.model_copy(update={"issue": ref.number if ref else None, "issue_url": ref.url if ref else None,
                                      "issue_action": plan.action})


def retrain_command(model: str) -> str:
    """What the issue suggests: a retraining branch from a labelled batch of recent traffic."""
    return f"mlpin drift prepare-retrain --model {model} --labeled <recent labelled rows: CSV, or request_id,label>"


def _metric(name: str) -> str:
    """A metric name MLflow accepts (column names may hold any character)."""
    return METRIC_NAME.sub("_", name)[:250]


def parse_window(text: str) -> timedelta:
    """`7d`, `36h`, `90m`: a window length; InvalidInput naming the accepted forms otherwise."""
    found = re.fullmatch(r"\s*(\d{1,6})\s*([dhm])\s*", text)
    if found is None or int(found[1]) == 0:
        raise InvalidInput(f"--window {text!r}: give a positive length such as 7d, 36h or 90m")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[found[2]]
    return timedelta(**{unit: int(found[1])})


def _measure_images(ctx: StageContext, model: str, *, pin: PinnedModel, uri: str, start: datetime, end: datetime,
                    policy: DriftPolicy) -> DriftCheck:
    """An image model's check: serving logs each image's mean per channel (never its pixels),
    compared with the same statistic of the pinned version's training images, each channel
    with a permutation p-value; the logged labels against the model's own on those images."""
    import numpy as np

    from pipelines.adapters.predictionlog import read_window
    from pipelines.tasks.imagedata import load_images
    from pipelines.tasks.imagedrift import statistics_drift
    from pipelines.tasks.imagestats import channel_names

    ws = ctx.workspace
    found = next(((n, p) for n, p in sorted(ws.images.items()) if p.sha256 == pin.data_sha256), None)
    if found is None:
        raise InvalidInput(f"{model} v{pin.version}'s training images (sha256 {pin.data_sha256[:12]}…) are not a "
                           "current image folder pointer; restore the pointer to check drift")
    fitted = ctx.registry.load_verified(model, pin.version, expected_sha256=pin.artifact_sha256)
    # decoded as the pinned model sees them (its own ISP settings, not the spec at main's)
    reference = load_images(ctx.root, found[0], found[1], isp=getattr(fitted, "isp", None))
    with ctx.progress.step(f"reading {model} v{pin.version}'s logged requests"):
        window = read_window(uri, model, since=start, until=end + timedelta(seconds=1), version=pin.version,
                             columns=["mean"])
    base = {"model": model, "version": pin.version, "window_start": start, "window_end": end,
            "reference": f"data/{found[0]}.yaml (sha256 {pin.data_sha256[:12]})",
            "reference_rows": len(reference.labels), "rows": window.rows, "requests": window.requests,
            "min_rows": policy.min_rows, "skipped_lines": window.skipped_lines,
            "other_versions": {v: n for v, n in window.versions.items() if v != pin.version}}
    if window.rows < policy.min_rows:
        return DriftCheck(**base)
    names = channel_names(reference.images.shape[3])
    logged = np.array([list(m) for m in window.frame["mean"]], dtype=np.float64)
    ours = reference.images.reshape(len(reference.images), -1, reference.images.shape[3]).mean(axis=1)
    settings = policy.images
    pairs = statistics_drift({f"brightness[{c}]": ours[:, i] for i, c in enumerate(names)},
                             {f"brightness[{c}]": logged[:, i] for i, c in enumerate(names)},
                             p_value_threshold=settings.statistics_p_value,
                             distance_threshold=settings.statistics_distance,
                             permutations=settings.permutations, seed=settings.seed)
    report = DriftReport(reference=base["reference"], current=f"v{pin.version} logged images",
                         reference_rows=len(ours), current_rows=len(logged),
                         features=[p if settings.verdict == "p_value" else d for d, p in pairs],
                         drift_share=policy.drift_share)
    outputs = window.frame.get(OUTPUT)
    labels = None if outputs is None else outputs.map(lambda o: o.get("label") if isinstance(o, dict) else o)
    prediction = _prediction_drift(fitted, reference.images, labels, policy=policy, categorical=True)
    return DriftCheck(**base, report=report, prediction=prediction)
