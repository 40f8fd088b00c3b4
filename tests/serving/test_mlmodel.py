"""A verified folder's MLmodel read without MLflow gives what MLflow's reader gives, and a
restart whose pinned version is in the verified cache imports neither MLflow nor torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from serving.mlmodel import _read_directly, _read_with_mlflow, read_model_meta
from tests.helpers import pin
from tests.serving.helpers import MODEL, Trained, artifact_folder, process_env


@pytest.mark.parametrize("entry", ["v1", "diabetes", "smoke"], ids=["optional-column", "category", "frame-example"])
def test_the_direct_reading_equals_mlflows(trained: Trained, entry: str) -> None:
    folder = artifact_folder(trained.root, trained.entries[entry]["artifact_sha256"])
    direct, by_mlflow = read_model_meta(folder), _read_with_mlflow(folder)
    assert direct.columns == by_mlflow.columns
    assert direct.metadata == by_mlflow.metadata and direct.flavors == by_mlflow.flavors
    assert direct.example == by_mlflow.example and direct.example


def test_an_example_in_another_format_is_left_to_mlflow(trained: Trained, tmp_path: Path) -> None:
    import shutil

    import yaml

    folder = tmp_path / "model"
    shutil.copytree(artifact_folder(trained.root, trained.entries["v1"]["artifact_sha256"]), folder)
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    mlmodel["saved_input_example_info"]["pandas_orient"] = "records"
    split = json.loads((folder / "input_example.json").read_text())
    (folder / "input_example.json").write_text(json.dumps([dict(zip(split["columns"], row, strict=True))
                                                           for row in split["data"]]))
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    assert _read_directly(folder) is None
    assert read_model_meta(folder) == _read_with_mlflow(folder)


RESTART = """
import json, sys
from serving.service import build_service
from serving.settings import load_settings
service = build_service(load_settings())
service.reconciler.reconcile()
live = service.slots.get(sys.argv[1])
print(json.dumps({"live": live.version if live else None, "mlflow": "mlflow" in sys.modules,
                  "torch": "torch" in sys.modules}))
"""


def test_a_restart_with_the_version_in_the_verified_cache_imports_neither_mlflow_nor_torch(
    trained: Trained, tmp_path: Path
) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    env = process_env(trained, tmp_path)

    def start() -> dict:
        done = subprocess.run([sys.executable, "-c", RESTART, MODEL], env=env, capture_output=True, text=True,
                              timeout=120, check=True)
        return json.loads(done.stdout.splitlines()[-1])

    assert start() == {"live": 1, "mlflow": True, "torch": False}  # downloaded through MLflow
    assert start() == {"live": 1, "mlflow": False, "torch": False}  # restart: from the verified cache
