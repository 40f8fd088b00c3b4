"""After a swap, what the model's load brought is out of the collector's full passes (they
walked all of scikit-learn under load and were the single-row p99)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import pin
from tests.serving.helpers import MODEL, Trained, process_env

SWAP = """
import gc, json, sys
from serving.service import build_service
from serving.settings import load_settings
service = build_service(load_settings())
service.reconciler.swaps.insert(0, lambda name, version: print(json.dumps({"tracked_at_swap": any(
    o is service.slots.get(name).predictor for o in gc.get_objects())})))
frozen_before = gc.get_freeze_count()
service.reconciler.reconcile()
estimator = service.slots.get(sys.argv[1]).predictor
print(json.dumps({"frozen_grew": gc.get_freeze_count() > frozen_before,
                  "tracked_after": any(o is estimator for o in gc.get_objects()),
                  "sklearn_tracked": any(type(o).__module__.startswith("sklearn") for o in gc.get_objects())}))
"""


def test_a_swapped_in_model_is_frozen_out_of_full_collections(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    done = subprocess.run([sys.executable, "-c", SWAP, MODEL], env=process_env(trained, tmp_path),
                          capture_output=True, text=True, timeout=120, check=True)
    at_swap, after = (json.loads(line) for line in done.stdout.splitlines()[-2:])
    assert at_swap == {"tracked_at_swap": True}  # the observers before freezing see a collectable estimator
    assert after == {"frozen_grew": True, "tracked_after": False, "sklearn_tracked": False}


MLFLOW = """
import gc, json, sys
from pathlib import Path
from serving.service import LazyRegistry
registry = LazyRegistry(Path(sys.argv[1]))
registry.version_tags(sys.argv[2], 1)  # the first need imports MLflow
imported = [vars(sys.modules["mlflow"]), sys.modules["mlflow"].MlflowClient]  # the package and its client class
print(json.dumps({"mlflow": "mlflow" in sys.modules, "collecting": gc.isenabled(),
                  "mlflow_tracked": any(o is i for o in gc.get_objects() for i in imported)}))
"""


def test_mlflow_is_imported_without_collections_and_frozen_after(trained: Trained, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", MLFLOW, str(trained.root), MODEL],
                          env=process_env(trained, tmp_path), capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {"mlflow": True, "collecting": True,
                                                           "mlflow_tracked": False}
