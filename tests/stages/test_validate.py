"""`mlpin validate` on a real git repository: every problem of every file at once, data
included, and the same verdict as `mlpin train` on what a spec may train on."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.errors import ConfigError, InvalidInput
from pipelines.stages.train import train
from pipelines.stages.validate import validate
from tests.fakes.registry import MemoryRegistry
from tests.helpers import ctx, edit_yaml


def test_yaml_and_data_problems_are_reported_together(git_repo: Path) -> None:
    edit_yaml(git_repo / "models/wine_logreg.yaml", colour="red")
    (git_repo / "policies/promotion.yaml").write_text("metrics: [\n")
    with (git_repo / "data/diabetes.csv").open("a") as handle:
        handle.write("50,1,25.0,90.0,180.0,100.0,50.0,4.0,4.5,90.0,100.0\n")
    with pytest.raises(ConfigError) as err:
        validate(ctx(git_repo))
    found = err.value.problems_by_path
    assert sorted(found) == ["data/diabetes.yaml", "models/wine_logreg.yaml", "policies/promotion.yaml"]
    assert "sha256 of data/diabetes.csv does not match the pointer" in str(found["data/diabetes.yaml"][0])
    assert [p.location for p in found["models/wine_logreg.yaml"]] == ["colour"]
    # breast_cancer_rf names the policy that does not load: its own problem is reported, not "does not exist"
    assert "models/breast_cancer_rf.yaml" not in found


def test_a_data_problem_is_listed_once_and_contract_violations_with_it(git_repo: Path) -> None:
    edit_yaml(git_repo / "data/diabetes.yaml", contract={"min_rows": 1000, "values": {"sex": ["1"]}})
    with pytest.raises(ConfigError) as err:
        validate(ctx(git_repo))
    assert [str(p) for p in err.value.problems_by_path["data/diabetes.yaml"]] == [
        "data/diabetes.csv breaks its contract",
        "row count: expected at least 1000 rows; found 442",
        "sex: expected values in ['1'] (contract.values); 207 rows have others: ['2']",
    ]


def _target_is_a_feature(root: Path) -> None:
    edit_yaml(root / "models/wine_logreg.yaml", target="alcohol")


def _no_labels(root: Path) -> None:
    edit_yaml(root / "data/wine.yaml", contract={"min_rows": 150})


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_target_is_a_feature, "target: 'alcohol' has role feature in data/wine.yaml; a target needs role: target"),
        (_no_labels, "target: classification needs the labels of 'cultivar': set contract.labels in data/wine.yaml"),
    ],
    ids=["target-is-a-feature", "classification-without-labels"],
)
def test_validate_and_train_agree_on_what_a_spec_may_train_on(git_repo: Path, mutate, expected: str) -> None:
    mutate(git_repo)
    with pytest.raises(ConfigError) as validated:
        validate(ctx(git_repo))
    registry = MemoryRegistry()
    with pytest.raises(InvalidInput) as trained:
        train(ctx(git_repo, registry=registry), "wine_logreg")
    assert [str(p) for p in validated.value.problems_by_path["models/wine_logreg.yaml"]] == [expected]
    assert f"  - {expected}" in trained.value.lines()
    assert registry.versions == {}
