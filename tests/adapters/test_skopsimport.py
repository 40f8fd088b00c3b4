"""skops imported mlpin's way trusts exactly what a plain `import skops.io` trusts, and a
tabular process that loads skops never imports torch (which is installed here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import PROJECT

PROBE = """
import json, sys
if sys.argv[1] == "mlpin":
    from pipelines.adapters.skopsimport import TORCH_SHIM, skops_io
    skops_io()
    assert TORCH_SHIM not in sys.modules, "the shim's block was left behind"
else:
    import skops.io
from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES, SKLEARN_INTERNAL_TYPE_NAMES
print(json.dumps({"estimators": sorted(SKLEARN_ESTIMATOR_TYPE_NAMES), "internal": sorted(SKLEARN_INTERNAL_TYPE_NAMES),
                  "torch": "torch" in sys.modules}))
"""


def _probe(way: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, way], cwd=PROJECT, capture_output=True, text=True,
                          check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_skops_trusts_the_same_types_without_importing_torch() -> None:
    pytest.importorskip("torch", reason="with torch absent there is nothing to keep out")
    plain, ours = _probe("plain"), _probe("mlpin")
    assert plain["torch"] and not ours["torch"]
    assert len(ours["estimators"]) > 100  # the walk itself still ran
    assert (ours["estimators"], ours["internal"]) == (plain["estimators"], plain["internal"])


def test_skops_after_torch_is_the_same_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import torch, skops.io\nfrom pipelines.adapters.skopsimport import skops_io\n"
                               "assert skops_io() is skops.io"],
        cwd=PROJECT, capture_output=True, text=True, timeout=300)
    if "No module named 'torch'" in done.stderr:
        pytest.skip("torch is not installed")
    assert done.returncode == 0, done.stderr[-2000:]
