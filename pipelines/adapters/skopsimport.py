"""Importing `skops.io` without importing torch.

On import, skops lists every scikit-learn estimator (`sklearn.utils.all_estimators`, the
types it trusts by default). That walk imports every package under `sklearn`, including
the vendored array-API shim `sklearn.externals.array_api_compat.torch`, which imports all
of torch when torch is installed: about a second and a half of a tabular job spent on a
library it never uses. `all_estimators` leaves out every module under `externals` anyway,
so the shim is kept out for the length of the import (a package that fails to import is
skipped by the walk): skops' list of trusted types is the same, which a test checks.
Nothing here imports at import time.
"""

from __future__ import annotations

import sys
from types import ModuleType

# What the estimator walk would import for nothing: it skips modules under `externals`.
TORCH_SHIM = "sklearn.externals.array_api_compat.torch"


def skops_io() -> ModuleType:
    """`skops.io`, imported without torch unless torch (or the shim) is already loaded."""
    if "skops.io" in sys.modules or "torch" in sys.modules or TORCH_SHIM in sys.modules:
        import skops.io

        return skops.io
    sys.modules[TORCH_SHIM] = None  # type: ignore[assignment]  # Python's "do not import this"
    try:
        import skops.io
    finally:
        if sys.modules.get(TORCH_SHIM, ...) is None:
            del sys.modules[TORCH_SHIM]
    return skops.io
