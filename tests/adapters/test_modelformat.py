"""Loading a model runs no code mlpin did not choose: pickles are refused, skops files are
built only from mlpin's own trusted types (never the list the artifact carries)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

from pipelines.adapters.modelformat import TRUSTED_TYPES, UnsafeModel, load_folder, save_types
from tests.fakes.registry import sample_candidate


class Trap:
    """Unpickling or rebuilding this object creates a marker file: proof that code ran."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _folder(tmp_path: Path, *, fmt: str, model_file: str, trusted: list[str] | None = None) -> Path:
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    flavor = {"pickled_model": model_file, "serialization_format": fmt, "skops_trusted_types": trusted}
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"sklearn": flavor}}))
    return folder


def test_a_crafted_pickle_is_refused_and_never_executed(tmp_path: Path) -> None:
    trap = Trap()
    trap.marker = tmp_path / "code-ran"
    folder = _folder(tmp_path, fmt="pickle", model_file="model.skops")
    (folder / "model.skops").write_bytes(pickle.dumps(trap))
    with pytest.raises(UnsafeModel, match="stored as 'pickle'"):
        load_folder(folder)
    assert not trap.marker.exists()


def test_a_skops_file_with_a_type_outside_mlpins_list_is_refused_whatever_the_artifact_trusts(tmp_path: Path) -> None:
    import skops.io

    folder = _folder(tmp_path, fmt="skops", model_file="model.skops", trusted=["tests.adapters.test_modelformat.Box"])
    skops.io.dump(Box(), folder / "model.skops")
    with pytest.raises(UnsafeModel, match="types mlpin does not trust"):
        load_folder(folder)


def test_a_model_file_outside_the_artifact_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeModel, match="not inside the artifact"):
        load_folder(_folder(tmp_path, fmt="skops", model_file="../elsewhere.skops"))


def test_mlpins_own_models_save_and_load_with_the_trusted_list(tmp_path: Path) -> None:
    import skops.io

    fitted = sample_candidate("wine").fitted
    assert set(save_types(fitted)) <= TRUSTED_TYPES
    folder = _folder(tmp_path, fmt="skops", model_file="model.skops")
    skops.io.dump(fitted, folder / "model.skops")
    assert type(load_folder(folder)) is type(fitted)
    with pytest.raises(UnsafeModel):
        save_types(Box())


class Box:
    """A harmless class skops does not know: not on mlpin's list, so never built on load."""


@pytest.mark.parametrize(
    ("flavor", "message"),
    [
        ({"data": "cnn", "format_version": 2}, "not a mlpin_cnn v1 model folder"),
        ({"data": ["cnn"], "format_version": 1}, "not a mlpin_cnn v1 model folder"),
        ({"data": "../cnn", "format_version": 1}, "not inside the artifact"),
        ({"data": "missing", "format_version": 1}, "not inside the artifact"),
    ],
    ids=["unknown-version", "data-not-a-path", "data-outside", "data-missing"],
)
def test_a_cnn_folder_this_mlpin_did_not_write_is_refused(tmp_path: Path, flavor: dict, message: str) -> None:
    folder = tmp_path / "model"
    (tmp_path / "cnn").mkdir()
    folder.mkdir()
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"mlpin_cnn": flavor}}))
    with pytest.raises(UnsafeModel, match=message):
        load_folder(folder)
