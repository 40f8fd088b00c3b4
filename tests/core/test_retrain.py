"""What a retraining branch holds, decided without I/O: names, the held-out rows, the spec's
new text; and that a changed drift holdout affects its model."""

from __future__ import annotations

import pytest
import yaml

from pipelines.core.affected import affected_models
from pipelines.core.errors import InvalidInput
from pipelines.core.retrain import dataset_name, holdout_rows, retrained_spec
from pipelines.core.schemas import DataPointer, ModelSpec
from pipelines.core.workspace import Workspace


@pytest.mark.parametrize(
    ("data", "taken", "expected"),
    [("wine", set(), "wine-20261130"), ("wine-20261101", set(), "wine-20261130"),
     ("wine-20261101-3", set(), "wine-20261130"), ("wine", {"wine-20261130"}, "wine-20261130-2"),
     ("wine", {"wine-20261130-holdout", "wine-20261130-2"}, "wine-20261130-3")],
    ids=["first", "earlier-retraining", "earlier-numbered", "taken-today", "holdout-taken-too"],
)
def test_dataset_name(data: str, taken: set[str], expected: str) -> None:
    assert dataset_name(data, day="20261130", taken=taken) == expected


def test_dataset_name_too_long_for_its_holdout() -> None:
    with pytest.raises(InvalidInput, match="longer than 64 characters; shorten"):
        dataset_name("x" * 50, day="20261130", taken=set())


def test_holdout_rows_are_fixed_by_the_seed_and_never_all_or_none() -> None:
    assert holdout_rows(40, share=0.3, seed=7) == holdout_rows(40, share=0.3, seed=7)
    assert holdout_rows(40, share=0.3, seed=7) != holdout_rows(40, share=0.3, seed=8)
    assert len(holdout_rows(40, share=0.3, seed=7)) == 12
    assert len(holdout_rows(2, share=0.01, seed=0)) == 1 and len(holdout_rows(2, share=0.99, seed=0)) == 1


@pytest.mark.parametrize(("count", "share", "message"),
                         [(1, 0.3, "at least 2 are needed"), (10, 1.0, "between 0 and 1"),
                          (10, 0.0, "between 0 and 1")], ids=["one-row", "share-one", "share-zero"])
def test_holdout_rows_refuses(count: int, share: float, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        holdout_rows(count, share=share, seed=0)


SPEC_TEXT = """# the spec
schema_version: 1
name: m
task: classification
data: wine          # data/wine.yaml
drift_holdout: old-holdout
estimator: {kind: random_forest}
"""


def test_retrained_spec_changes_data_and_drift_holdout_only() -> None:
    text = retrained_spec(SPEC_TEXT, old="wine", data="wine-20261130", holdout="wine-20261130-holdout")
    assert text.splitlines() == ["# the spec", "schema_version: 1", "name: m", "task: classification",
                                 "data: wine-20261130          # data/wine-20261130.yaml",
                                 "drift_holdout: wine-20261130-holdout", "estimator: {kind: random_forest}"]
    assert ModelSpec.model_validate(yaml.safe_load(text)).data == "wine-20261130"


def test_retrained_spec_refuses_a_data_key_it_cannot_find() -> None:
    with pytest.raises(InvalidInput, match="not on a line of its own"):
        retrained_spec("{name: m, data: wine}\n", old="wine", data="w2", holdout="w2-holdout")


def test_a_changed_drift_holdout_affects_its_model() -> None:
    pointer = DataPointer(uri="data/h.csv", format="csv", sha256="0" * 64, columns=[{"name": "x", "type": "float"}])
    spec = ModelSpec.model_validate({"name": "m", "task": "regression", "data": "d", "drift_holdout": "h",
                                     "estimator": {"kind": "ridge"}})
    ws = Workspace(specs={"m": spec}, pointers={"d": pointer.model_copy(update={"uri": "data/d.csv"}), "h": pointer})
    assert affected_models(ws, ["data/h.csv"]) == {"m": ["drift holdout changed"]}
    assert affected_models(ws, ["data/h.yaml"]) == {"m": ["drift holdout changed"]}
