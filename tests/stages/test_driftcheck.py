"""`mlpin drift check` on real prediction logs in serving's format, a real git repository,
the in-memory registry and the local forge: verdicts, the reference found by the pin,
and one issue per model through its whole life."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters.localforge import LocalForge
from pipelines.core.driftcheck import drift_marker
from pipelines.core.lineage import tag
from pipelines.core.outcome import Kind
from pipelines.stages.driftcheck import drift_check, parse_window
from tests.fakes.registry import MemoryRegistry
from tests.helpers import commit_all, ctx, edit_yaml
from tests.stages.helpers import MODEL, only_model

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PREDICT: list = []  # the pinned model's predict, set by the `pinned` fixture
SHIFTED = ("alcohol", "proline")


@pytest.fixture
def pinned(git_repo: Path, registry: MemoryRegistry, deployed: dict) -> dict:
    """wine_logreg pinned (and alone), with a drift policy that counts 2 of 13 features."""
    only_model(git_repo)
    edit_yaml(git_repo / "policies/drift.yaml", drift_share=0.1, min_rows=100)
    commit_all(git_repo, "drift policy")
    fitted = registry.load_verified(MODEL, deployed["version"], expected_sha256=deployed["artifact_sha256"])
    PREDICT[:] = [fitted.predict]
    return deployed


def log(folder: Path, rows: pd.DataFrame, *, version: int, when: datetime = NOW - timedelta(hours=1),
        per_request: int = 4, name: str = "predictions-20261130T000000Z-1.jsonl", tail: str = "",
        outputs: list | None = None) -> None:
    """Requests as serving logs them: one JSON line each, `per_request` input records, answered
    with `outputs` (default: the model's own predictions, as serving would answer)."""
    folder.mkdir(parents=True, exist_ok=True)
    answers = list(outputs if outputs is not None else PREDICT[0](rows))
    lines = []
    records = rows.to_dict(orient="records")
    for start in range(0, len(records), per_request):
        batch = records[start:start + per_request]
        lines.append(json.dumps({"request_id": uuid.uuid4().hex, "timestamp": when.isoformat(), "model": MODEL,
                                 "version": version, "inputs": batch,
                                 "outputs": [str(a) for a in answers[start:start + per_request]]}))
    with (folder / name).open("a") as handle:
        handle.write("\n".join(lines) + "\n" + tail)


def features(repo: Path) -> pd.DataFrame:
    return pd.read_csv(repo / "data/wine.csv").drop(columns=["cultivar"])


def shifted(repo: Path) -> pd.DataFrame:
    frame = features(repo)
    return frame.assign(alcohol=frame.alcohol + 3.0, proline=frame.proline * 2.0)


def check(repo: Path, registry: MemoryRegistry, logs: Path, **options):
    return drift_check(ctx(repo, registry=registry, forge=LocalForge(repo), clock=lambda: NOW), logs=str(logs),
                       out_dir=repo.parent / "drift", **options)


def test_same_distribution_is_clean_and_shifted_inputs_drift_naming_the_features(
        git_repo: Path, registry: MemoryRegistry, pinned: dict, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    log(logs, pd.concat([features(git_repo)] * 2), version=pinned["version"])
    (clean,) = check(git_repo, registry, logs).outcomes
    assert (clean.outcome, clean.kind, clean.issue) == ("clean", Kind.DONE, None)
    assert clean.check.rows == 356 and clean.check.requests == 89

    log(tmp_path / "shifted", pd.concat([shifted(git_repo)] * 2), version=pinned["version"])
    (drifted,) = check(git_repo, registry, tmp_path / "shifted").outcomes
    assert (drifted.outcome, drifted.kind) == ("drifted", Kind.BLOCKED)
    assert {f.column for f in drifted.check.report.drifted} == set(SHIFTED)
    run = registry.runs[drifted.run_id]
    assert run.tags[tag("kind")] == "drift_check" and run.tags[tag("model_version")] == str(pinned["version"])
    assert run.metrics["drift.alcohol"] < 0.05 and run.metrics["drift.rows"] == 356
    version = registry.version_tags(MODEL, pinned["version"])
    assert (version[tag("drift_check_run")], version[tag("drift_verdict")]) == (drifted.run_id, "drifted")
    assert (git_repo.parent / "drift" / MODEL / "drift.html").is_file()


def test_too_few_rows_is_not_enough_data_and_other_versions_are_not_checked(
        git_repo: Path, registry: MemoryRegistry, pinned: dict, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    log(logs, features(git_repo).head(40), version=pinned["version"])
    log(logs, shifted(git_repo), version=pinned["version"] + 7, name="predictions-20261130T010000Z-1.jsonl")
    log(logs, shifted(git_repo), version=pinned["version"], when=NOW - timedelta(days=30),
        name="predictions-20261030T000000Z-1.jsonl")  # outside the window
    (outcome,) = check(git_repo, registry, logs).outcomes
    assert (outcome.outcome, outcome.kind) == ("not_enough_data", Kind.DONE)
    assert outcome.check.rows == 40 and outcome.check.other_versions == {pinned["version"] + 7: 178}
    assert "not enough data: 40 logged rows" in outcome.headline


def test_truncated_and_foreign_lines_are_skipped_and_counted(git_repo: Path, registry: MemoryRegistry,
                                                             pinned: dict, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    log(logs, pd.concat([features(git_repo)] * 2), version=pinned["version"],
        tail='not json\n{"request_id": "x", "model": "wine_logreg", "inp')
    (outcome,) = check(git_repo, registry, logs).outcomes
    assert outcome.outcome == "clean" and outcome.check.skipped_lines == 2


def test_the_reference_is_the_pinned_versions_data_even_when_newer_data_exists(
        git_repo: Path, registry: MemoryRegistry, pinned: dict, tmp_path: Path) -> None:
    import hashlib

    original = features(git_repo)
    newer = shifted(git_repo).assign(cultivar=pd.read_csv(git_repo / "data/wine.csv").cultivar)
    newer.to_csv(git_repo / "data/wine.csv", index=False)
    digest = hashlib.sha256((git_repo / "data/wine.csv").read_bytes()).hexdigest()
    edit_yaml(git_repo / "data/wine.yaml", sha256=digest)
    commit_all(git_repo, "newer data, not pinned")
    logs = tmp_path / "logs"
    log(logs, pd.concat([original] * 2), version=pinned["version"])
    (outcome,) = check(git_repo, registry, logs).outcomes
    assert outcome.outcome == "clean", "the pinned version's own data, found in history by its digest"
    assert pinned["data_sha256"][:12] in outcome.check.reference


def test_one_issue_opened_commented_on_change_closed_after_clean_checks_and_reopened(
        git_repo: Path, registry: MemoryRegistry, pinned: dict, tmp_path: Path) -> None:
    forge = LocalForge(git_repo)
    same, moved = tmp_path / "same", tmp_path / "moved"
    log(same, pd.concat([features(git_repo)] * 2), version=pinned["version"])
    log(moved, pd.concat([shifted(git_repo)] * 2), version=pinned["version"])
    actions = [check(git_repo, registry, logs).outcomes[0].issue_action
               for logs in (moved, moved, same, same, same, same, moved)]
    assert actions == ["open", "none", "comment", "update", "close", "none", "open"]
    found = forge.find_issue(drift_marker(MODEL))
    assert found is not None and found.state == "open" and "alcohol" in found.title
    comments = forge.issue_comments(found.number)
    assert len(comments) == 3 and comments[-1].startswith("**Drift returned**")
    assert "Closed by mlpin: 3 clean drift checks in a row" in comments[1]


def test_parse_window() -> None:
    assert parse_window("7d") == timedelta(days=7) and parse_window("36h") == timedelta(hours=36)
    with pytest.raises(Exception, match="7d, 36h or 90m"):
        parse_window("a week")


def test_outputs_that_drift_on_unchanged_inputs_are_prediction_drift(git_repo: Path, registry: MemoryRegistry,
                                                                     pinned: dict, tmp_path: Path) -> None:
    rows = pd.concat([features(git_repo)] * 2)
    log(tmp_path / "logs", rows, version=pinned["version"], outputs=["class_0"] * len(rows))
    (outcome,) = check(git_repo, registry, tmp_path / "logs").outcomes
    assert outcome.check.report.drifted == [], "the inputs did not move"
    assert (outcome.outcome, outcome.check.findings) == ("drifted", ["prediction"])
    assert outcome.check.prediction.drifted and "predictions drifted" in outcome.headline


def test_requests_of_the_current_second_are_in_the_window(git_repo: Path, registry: MemoryRegistry, pinned: dict,
                                                          tmp_path: Path) -> None:
    log(tmp_path / "logs", pd.concat([features(git_repo)] * 2), version=pinned["version"],
        when=NOW + timedelta(milliseconds=600))  # the clock reads NOW, to the second
    (outcome,) = check(git_repo, registry, tmp_path / "logs").outcomes
    assert outcome.check.rows == 356
