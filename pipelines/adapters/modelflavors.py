"""The seam between the kinds of model mlpin trains and the MLflow model folders they are
stored as: which flavor a fitted model is, and the complete folder it is saved to.

Both registries save through `save_model_folder`, logged or only measured, so the digest a
pull request reports is the one registering records. Loading is `modelformat.load_folder`,
which dispatches on the folder's MLmodel. Nothing here imports torch for a scikit-learn
model: the CNN flavor is recognised by a class attribute and its code imported only for a CNN.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from pipelines.adapters.modelformat import CNN_FLAVOR, FORMAT, save_types
from pipelines.adapters.modelregistry import CandidateLog
from pipelines.core.inputs import InputColumn, contract_metadata

SKLEARN = "sklearn"
CNN = CNN_FLAVOR  # the flavor name in MLmodel, and `FittedCnn.MLPIN_FLAVOR`
FLAVORS = (SKLEARN, CNN)
REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "scipy")


def flavor_of(fitted: Any) -> str:
    """The flavor `fitted` is stored as: what its class declares, scikit-learn by default."""
    return getattr(type(fitted), "MLPIN_FLAVOR", SKLEARN)


def save_model_folder(entry: CandidateLog, folder: Path) -> None:
    """Write `entry`'s model as a complete MLflow model folder at `folder` (created); UnsafeModel
    before anything is written when the model could not be loaded back safely."""
    if flavor_of(entry.fitted) == CNN:
        from pipelines.adapters.cnnfolder import save_cnn_folder

        save_cnn_folder(entry, folder)
        return
    import mlflow.sklearn

    args = sklearn_args(entry)
    with requirements_unchecked():
        mlflow.sklearn.save_model(entry.fitted, str(folder), **args)


def sklearn_args(entry: CandidateLog) -> dict[str, Any]:
    """How MLflow saves a scikit-learn model, the same whether it is logged or only measured."""
    return {
        "signature": _signature(entry.inputs, entry.output_type),
        "input_example": entry.example,
        "metadata": contract_metadata(entry.inputs),
        "pip_requirements": _requirements(),
        "serialization_format": FORMAT,  # never pickle: loading a pickle runs what it says
        "skops_trusted_types": save_types(entry.fitted),
    }


def _signature(inputs: list[InputColumn], output_type: str) -> Any:
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    columns = [ColSpec(c.type, c.name, required=c.required) for c in inputs]
    return ModelSignature(inputs=Schema(columns), outputs=Schema([ColSpec(output_type)]))


def _requirements() -> list[str]:
    # Explicit and exact: MLflow's inference imports the model and guesses, slowly.
    return [f"{name}=={metadata.version(name)}" for name in REQUIREMENTS]


# Where MLflow calls its requirement check by name: saving (environment) and loading the
# model back to validate the input example when logging it (pyfunc).
REQUIREMENT_CHECKERS = ("mlflow.utils.environment", "mlflow.pyfunc")
REQUIREMENT_CHECK = "warn_dependency_requirement_mismatches"


@contextlib.contextmanager
def requirements_unchecked() -> Iterator[None]:
    """MLflow saving or logging a model without comparing its pip requirements with the
    installed packages.

    That comparison only warns, and first indexes every installed distribution (0.2 s on an
    idle machine, close to a second on a busy one, once per save and once per load back).
    mlpin's requirements are read from the installed packages (`_requirements`) and MLflow
    pins its own version, so they match by construction: nothing is lost, and what is saved
    is unchanged. Should MLflow rename the check, it simply runs again."""
    import importlib

    modules = [importlib.import_module(name) for name in REQUIREMENT_CHECKERS]
    saved = [(module, getattr(module, REQUIREMENT_CHECK)) for module in modules if hasattr(module, REQUIREMENT_CHECK)]
    for module, _ in saved:
        setattr(module, REQUIREMENT_CHECK, _unchecked)
    try:
        yield
    finally:
        for module, check in saved:
            setattr(module, REQUIREMENT_CHECK, check)


def _unchecked(requirements: list[str]) -> None:
    """In place of MLflow's requirement check (see requirements_unchecked)."""
