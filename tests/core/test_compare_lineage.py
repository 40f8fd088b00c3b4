"""Metric comparison direction and the spec hash's identity rules."""

from __future__ import annotations

import pytest

from pipelines.core.compare import compare_metrics
from pipelines.core.lineage import spec_hash
from pipelines.core.schemas import DataPointer, ModelSpec


@pytest.mark.parametrize(
    ("metric", "candidate", "production", "better"),
    [("accuracy", 0.9, 0.8, True), ("accuracy", 0.8, 0.9, False), ("rmse", 4.0, 5.0, True),
     ("log_loss", 0.3, 0.2, False), ("r2", 0.5, 0.5, None)],
    ids=["higher-better-up", "higher-better-down", "lower-better-down", "lower-better-up", "tie"],
)
def test_direction_follows_the_metric(metric: str, candidate: float, production: float, better: bool | None) -> None:
    (row,) = compare_metrics({metric: candidate}, {metric: production})
    assert row.better is better
    assert row.delta == pytest.approx(candidate - production)


def test_no_production_means_no_delta() -> None:
    (row,) = compare_metrics({"accuracy": 0.9}, None)
    assert (row.production, row.delta, row.better) == (None, None, None)


SPEC = ModelSpec.model_validate(
    {"name": "m", "task": "classification", "data": "d", "estimator": {"kind": "random_forest"}}
)
DATA = DataPointer(uri="d.csv", format="csv", sha256="0" * 64, columns=[{"name": "x", "type": "float"}])


def test_spec_hash_changes_with_spec_data_and_version_only() -> None:
    base = spec_hash(SPEC, DATA, mlpin_version="1")
    assert base == spec_hash(ModelSpec.model_validate(SPEC.model_dump()), DATA, mlpin_version="1")
    assert base != spec_hash(
        SPEC.model_copy(update={"split": SPEC.split.model_copy(update={"seed": 1})}), DATA, mlpin_version="1"
    )
    assert base != spec_hash(SPEC, DATA.model_copy(update={"sha256": "1" * 64}), mlpin_version="1")
    assert base != spec_hash(SPEC, DATA, mlpin_version="2")


def test_a_spec_without_drift_holdout_hashes_as_before_and_the_holdout_pointer_counts() -> None:
    import hashlib
    import json

    added = {"drift_holdout", "isp", "init"}  # fields that came after the first pins
    legacy = {"spec": {k: v for k, v in SPEC.model_dump(mode="json").items() if k not in added},
              "data": DATA.model_dump(mode="json"), "mlpin": "1"}
    digest = hashlib.sha256(json.dumps(legacy, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert spec_hash(SPEC, DATA, mlpin_version="1") == digest, "pins of existing specs stay valid"
    assert spec_hash(SPEC.model_copy(update={"init": "production"}), DATA, mlpin_version="1") != digest
    assert spec_hash(SPEC.model_copy(update={"isp": {"gamma": 2.4}}), DATA, mlpin_version="1") != digest
    held = SPEC.model_copy(update={"drift_holdout": "h"})
    with_holdout = spec_hash(held, DATA, mlpin_version="1", holdout=DATA)
    assert with_holdout != digest
    assert with_holdout != spec_hash(held, DATA, mlpin_version="1",
                                     holdout=DATA.model_copy(update={"sha256": "2" * 64})), "new holdout rows"
