"""`mlpin train` in a real git repository: what it records in MLflow on SQLite, and (on the
in-memory registry) what it records about the checkout and that invalid input records nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from pipelines.adapters.registry import Registry, artifact_digest
from pipelines.core.errors import InvalidInput
from pipelines.core.lineage import TAGS, tag
from pipelines.stages.train import train
from tests.fakes.registry import MemoryRegistry
from tests.helpers import commit_all, ctx, edit_yaml, git, mixed_frame, write_yaml


def test_registers_a_version_with_lineage_on_run_and_version(repo: Path) -> None:
    result = train(ctx(repo), "wine_logreg")
    client = Registry(repo).client
    version = client.get_model_version("wine_logreg", str(result.version))
    run = client.get_run(result.run_id)
    expected = {
        "git_commit": git(repo, "rev-parse", "HEAD"), "git_dirty": "false", "spec_hash": result.spec_hash,
        "data_sha256": (repo / "data/wine.yaml").read_text().split("sha256: ")[1].split()[0],
        "seed": "7", "task": "classification", "estimator": "logistic_regression",
        "artifact_sha256": result.artifact_sha256, "mlpin_version": "0.1.0",
    }
    assert set(expected) == set(TAGS)
    for name, value in expected.items():
        assert version.tags[tag(name)] == value, name
        assert run.data.tags[tag(name)] == value, name
    assert run.data.metrics["accuracy"] == result.metrics["accuracy"]
    assert run.data.params["estimator.C"] == "1.0"


def test_logged_model_has_signature_example_requirements_and_matching_digest(repo: Path) -> None:
    import mlflow

    result = train(ctx(repo), "diabetes_hgb")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(f"models:/diabetes_hgb/{result.version}", dst_path=tmp))
        assert artifact_digest(local) == result.artifact_sha256
        requirements = (local / "requirements.txt").read_text()
        info = mlflow.models.get_model_info(str(local))
    assert "scikit-learn==" in requirements and "pandas==" in requirements
    inputs = {c.name: c.type.name for c in info.signature.inputs.inputs}
    assert inputs["sex"] == "string" and inputs["bmi"] == "double"
    assert "progression" not in inputs
    assert info.saved_input_example_info is not None
    # the contract allows no gaps (every column required) and names the values of sex, kept beside the signature
    assert all(c.required for c in info.signature.inputs.inputs)
    assert info.metadata == {"mlpin_inputs": {"sex": {"values": ["1", "2"], "allow_unseen": False}}}


def test_same_commit_spec_data_and_seed_reproduce_metrics_and_model_file(repo: Path) -> None:
    first = train(ctx(repo), "breast_cancer_rf")
    second = train(ctx(repo), "breast_cancer_rf")
    assert (first.version, second.version) == (1, 2)
    assert first.run_id != second.run_id
    assert first.metrics == second.metrics
    assert first.artifact_sha256 == second.artifact_sha256
    edit_yaml(repo / "models/breast_cancer_rf.yaml", split={"test_fraction": 0.2, "seed": 43, "stratify": True})
    third = train(ctx(repo), "breast_cancer_rf")
    assert third.spec_hash != first.spec_hash
    assert third.artifact_sha256 != first.artifact_sha256


def test_uncommitted_change_is_tagged_dirty(git_repo: Path, registry: MemoryRegistry) -> None:
    edit_yaml(git_repo / "models/wine_logreg.yaml", description="tweaked")
    assert train(ctx(git_repo, registry=registry), "wine_logreg").git_dirty is True
    commit_all(git_repo)
    assert train(ctx(git_repo, registry=registry), "wine_logreg").git_dirty is False
    tagged = [registry.version_tags("wine_logreg", version)[tag("git_dirty")] for version in (1, 2)]
    assert tagged == ["true", "false"]


def _corrupt_data(repo: Path) -> None:
    with (repo / "data/wine.csv").open("a") as handle:
        handle.write("13.0,2.0,2.3,19.0,100.0,2.5,2.5,0.3,1.5,5.0,1.0,3.0,700.0,class_1\n")


def _break_contract(repo: Path) -> None:
    import hashlib

    text = (repo / "data/wine.csv").read_text().replace("class_2", "class_9", 3)
    (repo / "data/wine.csv").write_text(text)
    edit_yaml(repo / "data/wine.yaml", sha256=hashlib.sha256(text.encode()).hexdigest())


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_corrupt_data, "sha256 of data/wine.csv does not match the pointer"),
        (_break_contract, "data/wine.csv breaks its contract"),
        (
            lambda r: edit_yaml(r / "models/wine_logreg.yaml", estimator={"kind": "svm"}),
            "models/wine_logreg.yaml: 1 problem",
        ),
        (
            lambda r: edit_yaml(
                r / "models/wine_logreg.yaml",
                estimator={"kind": "logistic_regression", "params": {"penalty_strength": 2}},
            ),
            "models/wine_logreg.yaml: 1 problem",
        ),
        (
            lambda r: edit_yaml(
                r / "models/wine_logreg.yaml", estimator={"kind": "logistic_regression", "params": {"C": -1}}
            ),
            "estimator.params:",
        ),
        (lambda r: (r / "models/wine_logreg.yaml").write_text("name: wine_logreg\n  task: x\n"), "invalid YAML"),
    ],
    ids=[
        "digest-mismatch",
        "contract-violation",
        "unknown-estimator",
        "unknown-hyperparameter",
        "bad-hyperparameter-value",
        "bad-yaml",
    ],
)
def test_invalid_input_writes_nothing_to_the_registry(git_repo: Path, registry: MemoryRegistry, mutate,
                                                      expected: str) -> None:
    mutate(git_repo)
    with pytest.raises(InvalidInput) as err:
        train(ctx(git_repo, registry=registry), "wine_logreg")
    assert expected in "\n".join(err.value.lines())
    assert (registry.runs, registry.versions) == ({}, {})


def test_a_category_value_outside_the_contract_stops_training(git_repo: Path, registry: MemoryRegistry) -> None:
    edit_yaml(git_repo / "data/diabetes.yaml", contract={"min_rows": 1000, "values": {"sex": ["1"]}})
    with pytest.raises(InvalidInput) as err:
        train(ctx(git_repo, registry=registry), "diabetes_hgb")
    assert err.value.lines()[1:] == [
        "  - row count: expected at least 1000 rows; found 442",
        "  - sex: expected values in ['1'] (contract.values); 207 rows have others: ['2']",
    ]
    assert (registry.runs, registry.versions) == ({}, {})


def test_categorical_columns_with_gaps_train_without_code_changes(repo: Path) -> None:
    import hashlib

    content = mixed_frame(300).to_csv(index=False, lineterminator="\n").encode()
    (repo / "data/shop.csv").write_bytes(content)
    write_yaml(
        repo / "data/shop.yaml",
        {
            "schema_version": 1,
            "uri": "data/shop.csv",
            "format": "csv",
            "sha256": hashlib.sha256(content).hexdigest(),
            "columns": [
                {"name": "size", "type": "float"},
                {"name": "colour", "type": "category"},
                {"name": "label", "type": "category", "role": "target"},
                {"name": "amount", "type": "float", "role": "ignore"},
            ],
            "contract": {"max_null_fraction": 0.2, "labels": ["big", "small"]},
        },
    )
    write_yaml(repo / "models/shop_hgb.yaml", {
        "schema_version": 1, "name": "shop_hgb", "task": "classification", "data": "shop",
        "estimator": {"kind": "hist_gradient_boosting"},
    })
    commit_all(repo, "a dataset with categories and gaps")
    result = train(ctx(repo), "shop_hgb")
    assert result.metrics["accuracy"] > 0.8
    import mlflow

    model = mlflow.pyfunc.load_model(f"models:/shop_hgb/{result.version}")
    import pandas as pd

    predicted = model.predict(pd.DataFrame({"size": [2.0, None], "colour": [None, "red"]}))
    assert list(predicted) == ["big", "big"]
