"""Image datasets as mlpin reads them: verified by digest and contract, then decoded
(PNG as it is, DNG through the ISP), in the folder's order."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from pipelines.adapters.workspace import load_workspace, read_workspace
from pipelines.core.errors import DataError
from pipelines.tasks.imagedata import load_images
from tests.helpers import PROJECT, edit_yaml, with_image_samples, write_yaml


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The project's image samples and their pointers, alone in a folder."""
    root = with_image_samples(tmp_path / "repo")
    return root


def test_pngs_decode_in_listing_order_as_one_array(repo: Path) -> None:
    found = load_images(repo, "digits_png", load_workspace(repo).images["digits_png"])
    assert found.images.shape == (400, 32, 32, 1) and found.images.dtype == np.float32
    assert 0.0 <= found.images.min() and found.images.max() <= 1.0
    assert found.labels[:40] == ["0"] * 40 and found.paths[0] == "0/0000.png" and sorted(set(found.labels)) == [
        str(n) for n in range(10)]


def test_dngs_go_through_the_isp_to_rgb(repo: Path) -> None:
    found = load_images(repo, "digits_raw", load_workspace(repo).images["digits_raw"])
    assert found.images.shape == (200, 32, 32, 3)
    assert found.images.std() > 0.05, "scenes, not a flat field"


def test_a_changed_pixel_is_refused_before_anything_is_decoded(repo: Path) -> None:
    path = repo / "samples/digits_png/3/0003.png"
    path.write_bytes(path.read_bytes()[:-12] + bytes(12))
    with pytest.raises(DataError, match="has sha256 .* the pointer says"):
        load_images(repo, "digits_png", load_workspace(repo).images["digits_png"])


def test_a_contract_the_folder_misses_lists_every_problem(repo: Path) -> None:
    edit_yaml(repo / "data/digits_raw.yaml", contract={"labels": [str(n) for n in range(10)], "min_per_class": 25,
                                                       "sizes": [[64, 64]], "modes": ["RGGB"]})
    with pytest.raises(DataError) as err:
        load_images(repo, "digits_raw", load_workspace(repo).images["digits_raw"])
    assert len(err.value.problems) >= 10 + 200, "every class short, every file the wrong size"


def test_image_specs_and_table_specs_each_need_their_kind_of_data(repo: Path) -> None:
    shutil.copytree(PROJECT / "policies", repo / "policies")
    shutil.copy(PROJECT / "data/wine.yaml", repo / "data/wine.yaml")
    write_yaml(repo / "models/digits_cnn.yaml", {"schema_version": 1, "name": "digits_cnn",
                                                 "task": "image_classification", "data": "wine",
                                                 "estimator": {"kind": "cnn"}})
    write_yaml(repo / "models/wine_on_images.yaml", {"schema_version": 1, "name": "wine_on_images",
                                                     "task": "classification", "data": "digits_png",
                                                     "estimator": {"kind": "random_forest"}})
    _, problems = read_workspace(repo)
    assert "is a table; image_classification trains on an image folder" in str(problems["models/digits_cnn.yaml"])
    assert "is an image folder; task classification trains on a table" in str(problems["models/wine_on_images.yaml"])


def test_validate_checks_image_folders_and_cnn_hyperparameters(repo: Path) -> None:
    from pipelines.core.errors import ConfigError
    from pipelines.stages.validate import validate
    from tests.helpers import ctx

    shutil.copytree(PROJECT / "policies", repo / "policies")
    write_yaml(repo / "models/digits_cnn.yaml", {
        "schema_version": 1, "name": "digits_cnn", "task": "image_classification", "data": "digits_png",
        "estimator": {"kind": "cnn", "params": {"dropout": 2, "colour": "blue"}}})
    with pytest.raises(ConfigError) as err:
        validate(ctx(repo))
    found = [str(p) for p in err.value.problems_by_path["models/digits_cnn.yaml"]]
    assert any(p.startswith("estimator.params.dropout") for p in found)
    assert any(p.startswith("estimator.params.colour") for p in found)
    edit_yaml(repo / "models/digits_cnn.yaml", estimator={"kind": "cnn", "params": {"epochs": 2}})
    report = validate(ctx(repo))
    assert report.datasets == {"digits_png": 400, "digits_raw": 200}
