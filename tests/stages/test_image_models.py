"""Image models through the same stages as tabular ones: train (PNG, and DNG through the
ISP), evaluate against production on the same held-out images, fine-tune from
production's weights, and the candidate report with image drift. Tiny CNNs, seconds each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.core.lineage import tag
from pipelines.stages.candidate import candidate
from pipelines.stages.evaluate import evaluate
from pipelines.stages.train import train
from tests.fakes.registry import MemoryRegistry
from tests.helpers import PROJECT, commit_all, ctx, edit_yaml, entry, git, pin, with_image_samples, write_yaml

PARAMS = {"channels": [8, 16], "dense": 32, "epochs": 6, "batch_size": 16, "learning_rate": 0.005}


@pytest.fixture
def image_repo(tmp_path: Path) -> Path:
    """A git repository with the image samples, their pointers, policies and two CNN specs."""
    root = with_image_samples(tmp_path / "repo")
    shutil.copytree(PROJECT / "policies", root / "policies")
    shutil.copy(PROJECT / ".gitignore", root / ".gitignore")
    for model, data in (("digits_cnn", "digits_png"), ("digits_raw_cnn", "digits_raw")):
        write_yaml(root / "models" / f"{model}.yaml", {
            "schema_version": 1, "name": model, "task": "image_classification", "data": data,
            "estimator": {"kind": "cnn", "params": PARAMS}, "split": {"test_fraction": 0.25, "seed": 3}})
    write_yaml(root / "models/production.yaml", {"schema_version": 1, "models": {}})
    git(root, "init", "-q")
    commit_all(root, "image models")
    return root


def test_a_cnn_trains_on_pngs_registers_and_scores_like_a_classifier(image_repo: Path, tmp_path: Path) -> None:
    registry = MemoryRegistry(tmp_path / "registry")
    first = train(ctx(image_repo, registry=registry), "digits_cnn")
    assert (first.version, first.task, first.train_rows, first.eval_rows) == (1, "image_classification", 300, 100)
    assert first.metrics["accuracy"] > 0.5 and {"f1_weighted", "log_loss", "roc_auc"} <= set(first.metrics)
    again = train(ctx(image_repo, registry=registry), "digits_cnn")
    assert again.artifact_sha256 == first.artifact_sha256 and again.metrics == first.metrics, "deterministic"
    loaded = registry.load_verified("digits_cnn", 1, expected_sha256=first.artifact_sha256)
    assert list(loaded.classes_) == [str(n) for n in range(10)]


def test_raw_dngs_train_through_the_isp(image_repo: Path, tmp_path: Path) -> None:
    result = train(ctx(image_repo, registry=MemoryRegistry(tmp_path / "registry")), "digits_raw_cnn")
    assert (result.train_rows, result.eval_rows) == (150, 50) and result.metrics["accuracy"] > 0.3


def test_evaluate_scores_production_on_the_same_held_out_images(image_repo: Path, tmp_path: Path) -> None:
    registry = MemoryRegistry(tmp_path / "registry")
    production = train(ctx(image_repo, registry=registry), "digits_cnn")
    pin(image_repo, digits_cnn=entry(production))
    edit_yaml(image_repo / "models/digits_cnn.yaml", estimator={"kind": "cnn", "params": {**PARAMS, "epochs": 4}})
    commit_all(image_repo, "one more epoch")
    candidate_version = train(ctx(image_repo, registry=registry), "digits_cnn").version
    result = evaluate(ctx(image_repo, registry=registry), "digits_cnn", version=candidate_version)
    assert result.production is not None and result.production.version == production.version
    assert result.production.metrics == production.metrics, "production scored on the very same held-out images"


def test_fine_tuning_starts_from_productions_weights_and_says_so(image_repo: Path, tmp_path: Path) -> None:
    registry = MemoryRegistry(tmp_path / "registry")
    production = train(ctx(image_repo, registry=registry), "digits_cnn")
    pin(image_repo, digits_cnn=entry(production))
    edit_yaml(image_repo / "models/digits_cnn.yaml", init="production",
              estimator={"kind": "cnn", "params": {**PARAMS, "epochs": 1, "learning_rate": 0.001}})
    commit_all(image_repo, "fine-tune")
    tuned = train(ctx(image_repo, registry=registry), "digits_cnn")
    assert registry.version_tags("digits_cnn", tuned.version)[tag("init")] == f"production v{production.version}"
    assert tuned.artifact_sha256 != production.artifact_sha256


def test_fine_tuning_without_production_is_refused(image_repo: Path, tmp_path: Path) -> None:
    from pipelines.core.errors import InvalidInput

    edit_yaml(image_repo / "models/digits_cnn.yaml", init="production")
    commit_all(image_repo, "fine-tune nothing")
    with pytest.raises(InvalidInput, match="nothing is pinned for digits_cnn yet"):
        train(ctx(image_repo, registry=MemoryRegistry(tmp_path / "registry")), "digits_cnn")


def test_the_candidate_report_compares_with_production_and_measures_image_drift(image_repo: Path,
                                                                                tmp_path: Path) -> None:
    registry = MemoryRegistry(tmp_path / "registry")
    production = train(ctx(image_repo, registry=registry), "digits_cnn")
    pin(image_repo, digits_cnn=entry(production))
    git(image_repo, "checkout", "-q", "-b", "tune")
    edit_yaml(image_repo / "models/digits_cnn.yaml", estimator={"kind": "cnn", "params": {**PARAMS, "dense": 24}})
    commit_all(image_repo, "wider")
    run = candidate(ctx(image_repo, registry=registry), base="main", pr="7", out_dir=tmp_path / "out")
    (outcome,) = run.outcomes
    assert outcome.model == "digits_cnn" and outcome.outcome in ("passed", "blocked"), outcome
    body = (tmp_path / "out" / "digits_cnn" / "candidate.md").read_text()
    assert f"production v{production.version}" in body and "brightness" in body, "image statistics in the drift table"


def test_the_candidate_report_shows_robustness_and_fine_tuning(image_repo: Path, tmp_path: Path) -> None:
    registry = MemoryRegistry(tmp_path / "registry")
    production = train(ctx(image_repo, registry=registry), "digits_cnn")
    pin(image_repo, digits_cnn=entry(production))
    git(image_repo, "checkout", "-q", "-b", "tune")
    edit_yaml(image_repo / "models/digits_cnn.yaml", init="production",
              estimator={"kind": "cnn", "params": {**PARAMS, "epochs": 1, "learning_rate": 0.001}})
    commit_all(image_repo, "fine-tune")
    candidate(ctx(image_repo, registry=registry), base="main", pr="7", out_dir=tmp_path / "out")
    body = (tmp_path / "out" / "digits_cnn" / "candidate.md").read_text()
    assert f"Fine-tuned from production v{production.version}'s weights." in body
    table = body[body.index("#### Robustness"):]
    assert "| clean |" in table and "| blur |" in table and "| noise |" in table and "production |" in table


def _log_images(folder: Path, means: list[float], labels: list[str], *, version: int, when) -> None:
    """Image requests as serving logs them: digest and mean per channel, never pixels."""
    import uuid

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "predictions-20261130T000000Z-1.jsonl").open("a") as handle:
        for mean, label in zip(means, labels, strict=True):
            record = {"request_id": uuid.uuid4().hex, "timestamp": when.isoformat(), "model": "digits_cnn",
                      "version": version, "inputs": [{"sha256": "0" * 64, "format": "png", "width": 32,
                                                      "height": 32, "mean": [mean]}],
                      "outputs": [{"label": label, "probabilities": {label: 1.0}}]}
            handle.write(json.dumps(record) + "\n")


def test_the_scheduled_check_compares_logged_image_statistics_with_the_training_images(image_repo: Path,
                                                                                       tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from pipelines.adapters.localforge import LocalForge
    from pipelines.adapters.workspace import load_workspace
    from pipelines.stages.driftcheck import drift_check
    from pipelines.tasks.imagedata import load_images

    registry = MemoryRegistry(tmp_path / "registry")
    production = train(ctx(image_repo, registry=registry), "digits_cnn")
    pin(image_repo, digits_cnn=entry(production))
    ws_images = load_images(image_repo, "digits_png", load_workspace(image_repo).images["digits_png"])
    means = ws_images.images.reshape(len(ws_images.labels), -1).mean(axis=1).tolist()
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    same, bright = tmp_path / "same", tmp_path / "bright"
    _log_images(same, means, ws_images.labels, version=production.version, when=now - timedelta(hours=1))
    _log_images(bright, [m + 0.3 for m in means], ["1"] * len(means), version=production.version,
                when=now - timedelta(hours=1))

    def check(logs: Path):
        return drift_check(ctx(image_repo, registry=registry, forge=LocalForge(image_repo), clock=lambda: now),
                           logs=str(logs), out_dir=tmp_path / "drift", model="digits_cnn").outcomes[0]

    clean, drifted = check(same), check(bright)
    assert clean.outcome == "clean" and clean.check.rows == 400, clean.headline
    assert drifted.outcome == "drifted" and "brightness[L]" in drifted.check.findings
    assert "prediction" in drifted.check.findings and drifted.issue_action == "open"
    assert drifted.check.report.features[0].kind == "p_value"


def test_a_changed_isp_setting_is_found_as_drift_and_attributed_to_its_stage(image_repo: Path,
                                                                            tmp_path: Path) -> None:
    registry = MemoryRegistry(tmp_path / "registry")
    production = train(ctx(image_repo, registry=registry), "digits_raw_cnn")
    pin(image_repo, digits_raw_cnn=entry(production))
    git(image_repo, "checkout", "-q", "-b", "brighter")
    edit_yaml(image_repo / "models/digits_raw_cnn.yaml", isp={"gamma": 2.8})
    commit_all(image_repo, "raise the display gamma")
    candidate(ctx(image_repo, registry=registry), base="main", pr="7", out_dir=tmp_path / "out")
    report = json.loads((tmp_path / "out" / "digits_raw_cnn" / "candidate.json").read_text())
    drifted = {f["column"]: f for f in report["drift"]["features"] if f["drifted"]}
    assert any(c.startswith("brightness[") for c in drifted) and all(
        f["kind"] == "p_value" for f in drifted.values())
    assert "embeddings" in {f["column"] for f in report["drift"]["features"]}, "MMD of production's embeddings"
    assert "Most likely ISP change: gamma change (confidence" in report["drift_note"]
    robustness = report["evaluation"]["robustness"]
    assert {"clean", "blur", "isp_gamma_1_8", "isp_warm_white_balance"} <= set(robustness["candidate"])
    assert set(robustness["production"]) == set(robustness["candidate"])


def test_image_drift_thresholds_come_from_the_drift_policy(image_repo: Path, tmp_path: Path) -> None:
    registry = MemoryRegistry(tmp_path / "registry")
    production = train(ctx(image_repo, registry=registry), "digits_raw_cnn")
    pin(image_repo, digits_raw_cnn=entry(production))
    write_yaml(image_repo / "policies/drift.yaml", {"schema_version": 1, "images": {
        "statistics_p_value": 1e-300, "mmd_p_value": 1e-300, "permutations": 50}})
    git(image_repo, "checkout", "-q", "-b", "brighter")
    edit_yaml(image_repo / "models/digits_raw_cnn.yaml", isp={"gamma": 2.8})
    commit_all(image_repo, "raise the display gamma, under a policy that tolerates anything")
    candidate(ctx(image_repo, registry=registry), base="main", pr="7", out_dir=tmp_path / "out")
    report = json.loads((tmp_path / "out" / "digits_raw_cnn" / "candidate.json").read_text())
    assert [f for f in report["drift"]["features"] if f["drifted"]] == []
    assert {f["threshold"] for f in report["drift"]["features"]} == {1e-300}


def test_propose_proposes_an_image_model_and_a_change_of_its_images_affects_it(image_repo: Path,
                                                                              tmp_path: Path) -> None:
    from pipelines.adapters.localforge import LocalForge
    from pipelines.adapters.workspace import load_workspace
    from pipelines.core.affected import affected_models
    from pipelines.stages.propose import propose

    registry = MemoryRegistry(tmp_path / "registry")
    run = propose(ctx(image_repo, registry=registry, forge=LocalForge(image_repo)))
    outcomes = {o.model: o.outcome for o in run.outcomes}
    assert outcomes["digits_cnn"] == "proposed", run.outcomes
    found = affected_models(load_workspace(image_repo), ["samples/digits_png/3/0003.png"])
    assert found == {"digits_cnn": ["images changed"]}
