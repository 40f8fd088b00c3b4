"""How a scikit-learn model is stored and loaded back without running code mlpin did not choose.

Models are saved by MLflow in the skops format, never as a pickle. Loading never goes
through MLflow's loader: it trusts the allow-list stored *inside* the model's MLmodel,
which whoever wrote the artifact controls. mlpin reads the skops file itself and trusts
only the types on its own list below; a pickle, or a skops file naming any other type,
is refused before anything in it is built. (The artifact's sha256 is still checked
first, by the callers.) `load_folder` is the one way in for every flavor: a CNN folder
(flavor `mlpin_cnn`) is handed to `cnnfolder`, which never unpickles more than tensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.core.errors import InvalidInput

FORMAT = "skops"
CNN_FLAVOR = "mlpin_cnn"  # cnnfolder.FLAVOR, named here so that a tabular load never imports it
# The non-primitive types the estimators mlpin trains (tasks/estimators.py) need, beyond
# what skops trusts by itself. Extend it, with a test, when an estimator is added.
TRUSTED_TYPES = frozenset({
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
})


class UnsafeModel(InvalidInput):
    """A model artifact whose loading could run code mlpin did not choose: never loaded."""


def save_types(fitted: Any) -> list[str]:
    """The types to trust when MLflow saves `fitted` as skops; UnsafeModel if it needs others."""
    from pipelines.adapters.skopsimport import skops_io

    skops = skops_io()
    return _checked(skops.get_untrusted_types(data=skops.dumps(fitted)), where="the fitted model")


def load_folder(folder: Path) -> Any:
    """The model in an MLflow model folder, by its MLmodel's flavor: a scikit-learn estimator
    built only from trusted types, or a CNN (cnnfolder) built from mlpin's code and plain tensors."""
    import yaml

    try:
        flavors = (yaml.safe_load((folder / "MLmodel").read_text()) or {}).get("flavors") or {}
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise UnsafeModel(f"{folder.name}: cannot read its MLmodel ({exc}); not loaded") from None
    if not isinstance(flavors, dict):
        raise UnsafeModel(f"{folder.name}: its MLmodel lists no flavors; not loaded")
    if isinstance(flavors.get(CNN_FLAVOR), dict):
        from pipelines.adapters.cnnfolder import load_cnn_folder  # imports torch: only for a CNN

        return load_cnn_folder(folder, flavors[CNN_FLAVOR])
    return _load_skops(folder, flavors.get("sklearn") or {})


def _load_skops(folder: Path, flavor: dict[str, Any]) -> Any:
    from pipelines.adapters.skopsimport import skops_io

    stored = flavor.get("serialization_format", "pickle")
    if stored != FORMAT or not isinstance(flavor.get("pickled_model"), str):
        raise UnsafeModel(f"the model is stored as {stored!r}, which can run code when loaded; mlpin loads only "
                          f"{FORMAT!r} models: retrain it with this mlpin, then pin the new version")
    path = (folder / flavor["pickled_model"]).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise UnsafeModel(f"the model file {flavor['pickled_model']!r} is not inside the artifact; not loaded")
    skops = skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        # skops audits every type against this list before it builds anything: the same gate as
        # listing the file's untrusted types first, without parsing its schema twice
        return skops.load(path, trusted=sorted(TRUSTED_TYPES))
    except UntrustedTypesFoundException:
        _checked(skops.get_untrusted_types(file=path), where=path.name)  # UnsafeModel, naming the refused types
        raise


def _checked(types: list[str], *, where: str) -> list[str]:
    refused = sorted(set(types) - TRUSTED_TYPES)
    if refused:
        raise UnsafeModel(f"{where} needs types mlpin does not trust to load: {refused}; not loaded")
    return list(types)
