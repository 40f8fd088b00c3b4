"""Serving fixtures: one repository with registered versions (good, smoke-failing,
unloadable) shared by the session, and a real uvicorn on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pipelines.adapters.artifact import artifact_digest
from tests.helpers import ctx, edit_yaml, make_repo, pin, wait_until
from tests.serving.helpers import MODEL, Running, Trained, artifact_folder, isolated, serving, settings_for


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Trained:
    """wine_logreg v1 and v2 (good, hue optional), v3 (fails its smoke test), v4 (cannot be unpickled);
    diabetes_hgb v1 (sex must be '1' or '2') and v2 (other values of sex accepted)."""
    with isolated(tmp_path_factory):
        root = make_repo(tmp_path_factory.mktemp("serving") / "repo", mlflow_template)
        _extend_contract(root, "wine", null_fraction={"hue": 0.1})
        entries = {"v1": _train(root, c=1.0), "v2": _train(root, c=0.05)}
        entries["smoke"] = _register_unanswerable(root)
        entries["broken"] = _break_artifact(root, _train(root, c=0.01))
        entries["diabetes"] = _train(root, model="diabetes_hgb")
        _extend_contract(root, "diabetes", allow_unseen=["sex"])
        entries["diabetes-unseen"] = _train(root, model="diabetes_hgb")
    return Trained(root=root, entries=entries)


def _extend_contract(root: Path, dataset: str, **contract) -> None:
    path = root / f"data/{dataset}.yaml"
    edit_yaml(path, contract={**yaml.safe_load(path.read_text())["contract"], **contract})


def _train(root: Path, *, c: float | None = None, model: str = MODEL) -> dict:
    from pipelines.stages.train import train

    if c is not None:
        edit_yaml(root / f"models/{model}.yaml", estimator={"kind": "logistic_regression", "params": {"C": c}})
    result = train(ctx(root), model)
    fields = ("version", "run_id", "artifact_sha256", "spec_hash", "data_sha256")
    return {k: getattr(result, k) for k in fields}


def _register_unanswerable(root: Path) -> dict:
    """A version that loads but cannot predict its own input example (a column it never gets)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import make_pipeline

    from pipelines.adapters.registry import CandidateLog, Registry
    from pipelines.core.inputs import InputColumn
    from pipelines.core.lineage import tag

    frame = pd.read_csv(root / "data/wine.csv")
    features = [c for c in frame.columns if c != "cultivar"]
    fitted = make_pipeline(ColumnTransformer([("pick", "passthrough", [*features, "ghost"])]), DummyClassifier())
    fitted.fit(frame.assign(ghost=1.0), frame["cultivar"])
    inputs = [InputColumn(name=f, type="double") for f in features]
    entry = CandidateLog(model=MODEL, fitted=fitted, inputs=inputs, output_type="string",
                         example=frame[features].head(3), params={}, metrics={}, tags={tag("task"): "classification"})
    logged = Registry(root).log_candidate(entry)
    return {"version": logged.version, "run_id": logged.run_id, "artifact_sha256": logged.artifact_sha256,
            "spec_hash": "0" * 64, "data_sha256": "0" * 64}


def _break_artifact(root: Path, entry: dict) -> dict:
    """Overwrite the stored pickle; the entry gets the digest of the broken bytes, so only unpickling fails."""
    folder = artifact_folder(root, entry["artifact_sha256"])
    (folder / "model.skops").write_bytes(b"this is not a pickle")
    return {**entry, "artifact_sha256": artifact_digest(folder)}


@pytest.fixture
def server_on_v1(trained: Trained, tmp_path: Path) -> Iterator[Running]:
    """A server that has loaded v1 and is ready."""
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    with serving(settings_for(trained, tmp_path)) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        yield running
