"""The embedded registry stays embedded, and per repository, within one process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.adapters.registry import Registry


def test_each_repository_keeps_its_own_embedded_store(tmp_path: Path, mlflow_template: Path) -> None:
    # MLflow 3's set_tracking_uri exports MLFLOW_TRACKING_URI; a second Registry then
    # took the first store for a server and wrote artifacts into ./mlruns.
    roots = [tmp_path / "a", tmp_path / "b"]
    for root in roots:
        (root / ".mlpin").mkdir(parents=True)
        shutil.copy(mlflow_template, root / ".mlpin" / "mlflow.db")
    first, second = (Registry(root) for root in roots)
    assert second.embedded and second.uri.endswith(str(roots[1] / ".mlpin" / "mlflow.db"))
    assert "MLFLOW_TRACKING_URI" not in os.environ
    location = second.client.get_experiment(second.experiment_id("m")).artifact_location
    assert location == (roots[1] / ".mlpin" / "artifacts" / "m").as_uri()
    assert first.uri != second.uri
