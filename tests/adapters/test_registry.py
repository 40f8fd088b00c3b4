"""The embedded registry stays embedded, and per repository, within one process.
(What every registry must do is in test_registry_contract.py.)"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.adapters.registry import Registry
from tests.helpers import copy_store


def test_each_repository_keeps_its_own_embedded_store(tmp_path: Path, mlflow_template: Path) -> None:
    # MLflow 3's set_tracking_uri exports MLFLOW_TRACKING_URI; a second Registry then
    # took the first store for a server and wrote artifacts into ./mlruns.
    roots = [copy_store(tmp_path / name, mlflow_template) for name in ("a", "b")]
    first, second = (Registry(root) for root in roots)
    assert second.embedded and second.uri.endswith(str(roots[1] / ".mlpin" / "mlflow.db"))
    assert "MLFLOW_TRACKING_URI" not in os.environ
    location = second.client.get_experiment(second.experiment_id("m")).artifact_location
    assert location == (roots[1] / ".mlpin" / "artifacts" / "m").as_uri()
    assert first.uri != second.uri
