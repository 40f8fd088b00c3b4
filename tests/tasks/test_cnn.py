"""The CNN image classifier on tiny synthetic images (3 classes of 16x16): it learns, the
same inputs give the same bytes in any process, saved models load back safely, fine-tuning
keeps the architecture, and robustness is measured under fixed perturbations."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines.adapters.artifact import artifact_digest
from pipelines.adapters.cnnformat import WEIGHTS_FILE, load, save
from pipelines.adapters.modelformat import UnsafeModel
from pipelines.core.errors import InvalidInput
from pipelines.tasks.cnn import CnnParams, FittedCnn, cnn_params, fit
from pipelines.tasks.imagerobustness import perturbations, robustness, score_images

PARAMS = CnnParams(channels=[8, 16], dense=32, epochs=8, batch_size=16, learning_rate=3e-3, input_size=(16, 16))
ROOT = Path(__file__).resolve().parents[2]


def shapes(n: int, *, seed: int) -> tuple[np.ndarray, list[str]]:
    """Dim noise plus a bright square top-left ('tl'), bottom-right ('br') or stripes ('stripes')."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 0.2, (n, 16, 16, 1)).astype(np.float32)
    labels = []
    for i in range(n):
        kind = ("tl", "br", "stripes")[i % 3]
        if kind == "tl":
            images[i, 2:7, 2:7] += 0.7
        elif kind == "br":
            images[i, 9:14, 9:14] += 0.7
        else:
            images[i, ::4] += 0.7
        labels.append(kind)
    return np.clip(images, 0.0, 1.0), labels


TRAIN = shapes(60, seed=0)
TEST = shapes(30, seed=1)


@pytest.fixture(scope="module")
def fitted() -> FittedCnn:
    return fit(*TRAIN, PARAMS)


def weights_equal(a: FittedCnn, b: FittedCnn) -> bool:
    left, right = a.state_dict(), b.state_dict()
    return left.keys() == right.keys() and all(left[k].equal(right[k]) for k in left)


def test_learns_and_reports_the_tabular_metrics(fitted: FittedCnn) -> None:
    scores = score_images(fitted, *TEST)
    assert scores.metrics["accuracy"] >= 0.9  # chance is 1/3
    assert set(scores.metrics) == {"accuracy", "f1_weighted", "f1_macro", "precision_weighted",
                                   "recall_weighted", "log_loss", "roc_auc"}
    assert scores.confusion["labels"] == ["br", "stripes", "tl"] and scores.rows == 30


def test_predicts_strings_probabilities_and_embeddings(fitted: FittedCnn) -> None:
    images, _ = TEST
    assert fitted.predict(images).tolist()[:3] == ["tl", "br", "stripes"]
    proba = fitted.predict_proba(images)
    assert proba.shape == (30, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert fitted.embed(images).shape == (30, PARAMS.dense)


def test_reports_each_epoch() -> None:
    lines: list[str] = []
    fit(*TRAIN, PARAMS.model_copy(update={"epochs": 2}), progress=lines.append)
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "loss" in lines[0] and "train accuracy" in lines[0]


def test_same_inputs_give_identical_weights_and_files(fitted: FittedCnn, tmp_path: Path) -> None:
    import torch

    threads, strict = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    again = fit(*TRAIN, PARAMS)
    assert weights_equal(fitted, again)
    assert fitted.predict_proba(TEST[0]).tobytes() == again.predict_proba(TEST[0]).tobytes()
    save(fitted, tmp_path / "a")
    save(again, tmp_path / "b")
    for name in ("cnn.json", WEIGHTS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == (threads, strict)


def test_another_process_trains_the_same_bytes(fitted: FittedCnn, tmp_path: Path) -> None:
    script = ("import sys; from pathlib import Path; from tests.tasks.test_cnn import TRAIN, PARAMS; "
              "from pipelines.tasks.cnn import fit; from pipelines.adapters.cnnformat import save; "
              "save(fit(*TRAIN, PARAMS), Path(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "other")], cwd=ROOT, check=True)
    save(fitted, tmp_path / "here")
    assert artifact_digest(tmp_path / "other") == artifact_digest(tmp_path / "here")


def test_saved_model_loads_back_with_identical_outputs(fitted: FittedCnn, tmp_path: Path) -> None:
    save(fitted, tmp_path)
    loaded = load(tmp_path)
    images = TEST[0]
    assert loaded.params == fitted.params and loaded.classes_.tolist() == fitted.classes_.tolist()
    assert weights_equal(fitted, loaded)
    assert loaded.predict(images).tolist() == fitted.predict(images).tolist()
    assert loaded.predict_proba(images).tobytes() == fitted.predict_proba(images).tobytes()
    assert loaded.embed(images).tobytes() == fitted.embed(images).tobytes()


class Payload:
    """Unpickling this writes a file: what a hostile weights file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.write_text, (self.marker, "pwned"))


def _plain_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps({"conv0.weight": Payload(marker)}))


def _torch_archive(path: Path, marker: Path) -> None:
    import torch

    torch.save({"conv0.weight": Payload(marker)}, path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on the plain pickle's protocol
@pytest.mark.parametrize("write", [_plain_pickle, _torch_archive], ids=["plain-pickle", "torch-zip-archive"])
def test_weights_that_would_run_code_are_refused_unrun(fitted: FittedCnn, tmp_path: Path, write) -> None:
    save(fitted, tmp_path / "model")
    marker = tmp_path / "marker"
    write(tmp_path / "model" / WEIGHTS_FILE, marker)
    with pytest.raises(UnsafeModel, match="could run code") as caught:
        load(tmp_path / "model")
    assert "weights_only=False" not in caught.value.message  # never advise the unsafe way round
    assert not marker.exists()


def test_weights_not_matching_the_described_architecture_are_refused(fitted: FittedCnn, tmp_path: Path) -> None:
    save(fitted, tmp_path)
    meta = (tmp_path / "cnn.json").read_text()
    (tmp_path / "cnn.json").write_text(meta.replace('"dense": 32', '"dense": 48'))
    with pytest.raises(UnsafeModel) as caught:
        load(tmp_path)
    assert {p.location for p in caught.value.problems} == {"dense.weight", "dense.bias", "output.weight"}


def test_fine_tuning_starts_from_production_and_keeps_the_architecture(fitted: FittedCnn) -> None:
    tuned = fit(*TEST, PARAMS.model_copy(update={"epochs": 1}), init_state=fitted.state_dict(),
                init_classes=fitted.classes_.tolist())
    scratch = fit(*TEST, PARAMS.model_copy(update={"epochs": 1}))
    before, after = fitted.state_dict(), tuned.state_dict()
    assert {k: v.shape for k, v in before.items()} == {k: v.shape for k, v in after.items()}
    assert not weights_equal(tuned, fitted) and not weights_equal(tuned, scratch)
    assert score_images(tuned, *TEST).metrics["accuracy"] > score_images(scratch, *TEST).metrics["accuracy"]


def test_fine_tuning_a_different_architecture_names_each_mismatch(fitted: FittedCnn) -> None:
    with pytest.raises(InvalidInput, match="does not fit the architecture") as caught:
        fit(*TRAIN, PARAMS.model_copy(update={"channels": [8, 8]}), init_state=fitted.state_dict())
    assert {p.location for p in caught.value.problems} == {"conv1.weight", "conv1.bias", "dense.weight"}


def test_fine_tuning_on_other_classes_is_refused(fitted: FittedCnn) -> None:
    images, labels = TRAIN
    renamed = [label.replace("stripes", "lines") for label in labels]
    with pytest.raises(InvalidInput, match="trained on classes"):
        fit(images, renamed, PARAMS, init_state=fitted.state_dict(), init_classes=fitted.classes_.tolist())


BAD_PARAMS = [
    ({"channels": []}, {"channels"}),
    ({"kernel_size": 4}, {"kernel_size"}),
    ({"input_channels": 3}, {"params"}),
    ({"input_size": [2, 2]}, {"params"}),
    ({"dropout": 1.0, "epochs": 0, "kernel_size": 2, "std": [-1.0], "colour": "red"},
     {"dropout", "epochs", "kernel_size", "std.0", "colour"}),
]


@pytest.mark.parametrize(("raw", "locations"), BAD_PARAMS,
                         ids=["no-conv-blocks", "even-kernel", "mean-std-per-channel", "too-small", "every-field"])
def test_bad_params_name_every_field(raw: dict, locations: set[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        cnn_params(raw)
    assert {p.location for p in caught.value.problems} == locations


@pytest.mark.parametrize(("images", "message"), [
    (np.zeros((4, 16, 16, 3), np.float32), r"expected \(N, 16, 16, 1\)"),
    (np.zeros((4, 16, 16, 1), np.uint8), "divide 8-bit pixels by 255"),
    (np.full((4, 16, 16, 1), 2.0, np.float32), r"in \[0, 1\]"),
], ids=["wrong-shape", "integers", "out-of-range"])
def test_wrong_images_are_refused_with_what_to_do(fitted: FittedCnn, images: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        fitted.predict(images)


def test_robustness_reports_accuracy_under_each_perturbation(fitted: FittedCnn) -> None:
    images, labels = TEST
    accuracies = robustness(fitted, images, labels, seed=7)
    assert list(accuracies) == ["clean", "brighter", "darker", "noise", "blur"]
    assert accuracies["clean"] == score_images(fitted, images, labels).metrics["accuracy"]
    assert all(0.0 <= a <= 1.0 for a in accuracies.values())
    assert robustness(fitted, images, labels, seed=7) == accuracies


def test_perturbations_stay_images_and_change_them() -> None:
    images = TEST[0]
    varied = perturbations(images, seed=7)
    for name, x in varied.items():
        assert x.shape == images.shape and x.dtype == np.float32, name
        assert 0.0 <= x.min() and x.max() <= 1.0 and not np.array_equal(x, images), name
    assert np.array_equal(varied["noise"], perturbations(images, seed=7)["noise"])
    assert np.isclose(varied["blur"].mean(), images.mean(), atol=0.01)  # a blur moves light, it adds none


def test_cli_and_the_cnn_modules_import_without_torch() -> None:
    code = ("import sys, pipelines.cli, pipelines.tasks.cnn, pipelines.adapters.cnnformat, "
            "pipelines.tasks.imagerobustness; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
