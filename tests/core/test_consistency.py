"""Cross-file checks: specs must name existing data, columns, estimators and policies."""

from __future__ import annotations

import pytest

from pipelines.core.consistency import check_workspace, resolve_features, resolve_target
from pipelines.core.schemas import Column, DataPointer, ModelSpec, ProductionPins, PromotionPolicy
from pipelines.core.workspace import Workspace

POINTER = DataPointer(
    uri="data/d.csv", format="csv", sha256="0" * 64,
    columns=[
        {"name": "x", "type": "float"}, {"name": "colour", "type": "category"},
        {"name": "id", "type": "int", "role": "ignore"}, {"name": "y", "type": "category", "role": "target"},
    ],
    contract={"labels": ["a", "b"]},
)


def spec(**changes) -> ModelSpec:
    base = {"name": "m", "task": "classification", "data": "d", "estimator": {"kind": "random_forest"}}
    return ModelSpec.model_validate({**base, **changes})


def found(ws: Workspace) -> list[str]:
    return [f"{path} {p}" for path, ps in check_workspace(ws).items() for p in ps]


def ws_with(s: ModelSpec, **kw) -> Workspace:
    return Workspace(specs={"m": s}, pointers={"d": POINTER}, policies={"promotion": PromotionPolicy()}, **kw)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"estimator": {"kind": "xgboost"}},
            "models/m.yaml estimator.kind: expected one of random_forest, logistic_regression, "
            "hist_gradient_boosting for task classification; found 'xgboost'",
        ),
        (
            {"task": "regression", "estimator": {"kind": "logistic_regression"}},
            "estimator.kind: expected one of hist_gradient_boosting, ridge, linear, random_forest for task regression",
        ),
        ({"data": "missing"}, "models/m.yaml data: data/missing.yaml does not exist"),
        ({"policy": "strict"}, "models/m.yaml policy: policies/strict.yaml does not exist"),
        ({"name": "other"}, "models/m.yaml name: must match the file name 'm'; found 'other'"),
        ({"target": "nope"}, "target: column 'nope' is not declared in data/d.yaml"),
        ({"features": ["x", "y"]}, "features[1]: 'y' is the target; it cannot also be a feature"),
        ({"features": ["x", "z"]}, "features[1]: column 'z' is not declared in data/d.yaml"),
        ({"features": []}, "features: an empty list trains on nothing"),
        (
            {"task": "regression", "estimator": {"kind": "ridge"}},
            "target: regression needs a numeric target; 'y' is category",
        ),
        ({"target": "colour"}, "target: 'colour' has role feature in data/d.yaml; a target needs role: target"),
        (
            {"target": "x", "task": "regression", "estimator": {"kind": "ridge"}},
            "target: 'x' has role feature in data/d.yaml; a target needs role: target",
        ),
    ],
    ids=[
        "unknown-estimator",
        "estimator-of-other-task",
        "missing-data",
        "missing-policy",
        "name-mismatch",
        "unknown-target",
        "target-as-feature",
        "unknown-feature",
        "empty-features",
        "categorical-regression-target",
        "target-is-a-feature-column",
        "regression-target-is-a-feature-column",
    ],
)
def test_spec_problems(changes: dict, expected: str) -> None:
    assert any(expected in line for line in found(ws_with(spec(**changes)))), found(ws_with(spec(**changes)))


def test_valid_workspace_has_no_problems() -> None:
    assert check_workspace(ws_with(spec())) == {}


def test_classification_needs_the_targets_labels_and_regression_does_not() -> None:
    unlabelled = POINTER.model_copy(update={"contract": POINTER.contract.model_copy(update={"labels": None})})
    ws = Workspace(specs={"m": spec()}, pointers={"d": unlabelled}, policies={"promotion": PromotionPolicy()})
    assert found(ws) == [
        "models/m.yaml target: classification needs the labels of 'y': set contract.labels in data/d.yaml"
    ]
    numeric = unlabelled.model_copy(update={"columns": [*unlabelled.columns[:3], Column(name="y", type="float",
                                                                                        role="target")]})
    regression = spec(task="regression", estimator={"kind": "ridge"})
    ws = Workspace(specs={"m": regression}, pointers={"d": numeric}, policies={"promotion": PromotionPolicy()})
    assert found(ws) == []


def test_default_features_are_feature_role_columns_except_target() -> None:
    assert resolve_target(spec(), POINTER) == "y"
    assert resolve_features(spec(), POINTER) == ["x", "colour"]


def test_pointer_contract_must_name_declared_numeric_columns() -> None:
    pointer = POINTER.model_copy(update={"contract": POINTER.contract.model_copy(update={
        "ranges": {"colour": {"min": 0}, "ghost": {"max": 1}}, "null_fraction": {"phantom": 0.1}})})
    ws = Workspace(pointers={"d": pointer})
    lines = found(ws)
    assert "data/d.yaml contract.null_fraction.phantom: names a column that is not declared in `columns`" in lines
    assert "data/d.yaml contract.ranges.ghost: names a column that is not declared in `columns`" in lines
    assert "data/d.yaml contract.ranges.colour: ranges apply to numeric columns; 'colour' is category" in lines


@pytest.mark.parametrize(
    ("values", "allow_unseen", "expected"),
    [
        ({"ghost": ["a"]}, [], "contract.values.ghost: names a column that is not declared in `columns`"),
        ({"x": ["1"]}, [], "contract.values.x: values apply to category columns; 'x' is float"),
        ({"y": ["a"]}, [], "contract.values.y: 'y' is the target; declare its values in contract.labels"),
        (
            {"colour": []},
            [],
            "contract.values.colour: an empty list allows nothing; list the values, or remove the key",
        ),
        ({"colour": ["red", "blue", "red"]}, [], "contract.values.colour: values must be distinct; repeated: ['red']"),
        ({"colour": [1, "1"]}, [], "contract.values.colour: values must be distinct; repeated: ['1']"),
        ({"colour": ["red"]}, ["x"], "contract.allow_unseen[0]: 'x' has no allowed values in contract.values"),
    ],
    ids=["undeclared", "numeric", "target", "empty", "repeated", "repeated-as-text", "unseen-without-values"],
)
def test_category_values_must_name_declared_category_features_with_distinct_values(
    values: dict, allow_unseen: list, expected: str
) -> None:
    contract = POINTER.contract.model_copy(update={"values": values, "allow_unseen": allow_unseen})
    assert found(Workspace(pointers={"d": POINTER.model_copy(update={"contract": contract})})) == [
        f"data/d.yaml {expected}"
    ]


def test_declared_values_of_a_category_feature_are_valid() -> None:
    contract = POINTER.contract.model_copy(update={"values": {"colour": ["red", "blue"]}, "allow_unseen": ["colour"]})
    pointer = POINTER.model_copy(update={"contract": contract})
    ws = Workspace(specs={"m": spec()}, pointers={"d": pointer}, policies={"promotion": PromotionPolicy()})
    assert found(ws) == []


def test_policy_gate_on_unknown_metric() -> None:
    policy = PromotionPolicy.model_validate(
        {"metrics": [{"metric": "acuracy", "min": 0.9}], "regression": [{"metric": "f1", "max_drop": 0}]}
    )
    lines = found(Workspace(policies={"p": policy}))
    assert len(lines) == 2
    assert lines[0].startswith("policies/p.yaml metrics[0].metric: expected one of accuracy, f1_macro")
    assert lines[0].endswith("found 'acuracy'")


def test_pin_of_a_model_without_spec() -> None:
    pins = ProductionPins.model_validate(
        {
            "models": {
                "ghost": {
                    "version": 1,
                    "run_id": "r",
                    "artifact_sha256": "a" * 64,
                    "spec_hash": "b" * 64,
                    "data_sha256": "c" * 64,
                }
            }
        }
    )
    assert found(Workspace(pins=pins)) == [
        "models/production.yaml models.ghost: pins a model with no spec (models/ghost.yaml)"
    ]


HOLDOUT = POINTER.model_copy(update={"uri": "data/h.csv"})
RETYPED = HOLDOUT.model_copy(update={"columns": [*POINTER.columns[:3], Column(name="y", type="int", role="target")]})


@pytest.mark.parametrize(
    ("pointers", "holdout", "expected"),
    [
        ({"h": HOLDOUT}, "h", []),
        ({}, "h", ["models/m.yaml drift_holdout: data/h.yaml does not exist; name a data pointer, or remove the key"]),
        ({}, "d", ["models/m.yaml drift_holdout: is the training data (data/d.yaml); name rows held out of it"]),
        ({"h": RETYPED}, "h",
         ["models/m.yaml drift_holdout: data/h.yaml declares other columns than data/d.yaml (name, type or role "
          "differ: ['y']); declare the same columns in both"]),
    ],
    ids=["same-columns", "missing-pointer", "the-training-data", "other-columns"],
)
def test_drift_holdout_names_a_pointer_with_the_datas_columns(pointers: dict, holdout: str,
                                                              expected: list[str]) -> None:
    ws = Workspace(specs={"m": spec(drift_holdout=holdout)}, pointers={"d": POINTER, **pointers},
                   policies={"promotion": PromotionPolicy()})
    assert found(ws) == expected
