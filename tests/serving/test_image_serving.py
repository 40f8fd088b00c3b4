"""Image models through the same pin -> digest -> load -> smoke test -> swap path as tabular
ones, on a real uvicorn: PNG uploads (multipart) and base64 JSON, DNG through the ISP the
model was trained with, the very tensor training decoded (no train/serve skew), 422 for
wrong sizes and garbage, a prediction log without image bytes, and a tabular model unaffected."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import PROJECT, commit_all, ctx, entry, make_repo, pin, wait_until, write_yaml
from tests.serving.helpers import MODEL, ROW, Running, Trained, isolated, serving, settings_for

PARAMS = {"channels": [8, 16], "dense": 32, "epochs": 6, "batch_size": 16, "learning_rate": 0.005}
ISP = {"gamma": 2.0}  # the raw model's override: serving must decode DNGs with it too
PNG = PROJECT / "samples/digits_png/7/0007.png"
DNG = PROJECT / "samples/digits_raw/3/0003.dng"


@pytest.fixture(scope="module")
def image_models(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Trained:
    """digits_cnn (PNG), digits_raw_cnn (DNG, ISP override) and wine_logreg, registered in a real MLflow."""
    from pipelines.stages.train import train

    with isolated(tmp_path_factory):
        root = make_repo(tmp_path_factory.mktemp("images") / "repo", mlflow_template)
        for name in ("digits_png", "digits_raw"):
            shutil.copytree(PROJECT / "samples" / name, root / "samples" / name)
            shutil.copy(PROJECT / "data" / f"{name}.yaml", root / "data" / f"{name}.yaml")
        for model, data, extra in (("digits_cnn", "digits_png", {}), ("digits_raw_cnn", "digits_raw", {"isp": ISP})):
            write_yaml(root / "models" / f"{model}.yaml", {
                "schema_version": 1, "name": model, "task": "image_classification", "data": data,
                "estimator": {"kind": "cnn", "params": PARAMS}, "split": {"test_fraction": 0.25, "seed": 3}, **extra})
        commit_all(root, "image models")
        entries = {name: entry(train(ctx(root), name)) for name in ("digits_cnn", "digits_raw_cnn", MODEL)}
    return Trained(root=root, entries=entries)


@pytest.fixture(scope="module")
def served(image_models: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """All three pinned and live, through the real reconcile path."""
    pin(image_models.root, **image_models.entries)
    settings_ = settings_for(image_models, tmp_path_factory.mktemp("image-serving"), max_rows=4)
    with isolated(tmp_path_factory), serving(settings_) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200, timeout=60)
        yield running


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _trained_prediction(root: Path, model: str, version: int, sha256: str, image) -> str:
    from pipelines.adapters.registry import Registry

    fitted = Registry(root).load_verified(model, version, expected_sha256=sha256)
    return str(fitted.predict(image[None])[0])


def test_a_png_upload_and_a_base64_png_get_the_digit(served: Running) -> None:
    upload = served.client.post("/predict/digits_cnn", files=[("file", ("seven.png", PNG.read_bytes(), "x/y"))])
    assert upload.status_code == 200, upload.text
    body = upload.json()
    assert (body["model"], body["version"], body["predictions"]) == ("digits_cnn", 1, ["7"])
    assert set(body["probabilities"][0]) == {str(n) for n in range(10)}
    assert abs(sum(body["probabilities"][0].values()) - 1) < 1e-6
    both = served.client.post("/predict/digits_cnn", json={"images": [_b64(PNG), _b64(PNG)]})
    assert both.status_code == 200 and both.json()["predictions"] == ["7", "7"], both.text
    assert served.client.post("/predict/digits_cnn", json={"image": _b64(PNG)}).json()["predictions"] == ["7"]


def test_served_predictions_are_the_training_paths_for_the_same_file(served: Running,
                                                                     image_models: Trained) -> None:
    """No train/serve skew: the served model gets the tensor training decoded, DNG with the spec's ISP."""
    import numpy as np

    from pipelines.tasks.imagedata import _picture, _raw
    from serving.images import ImageInput, decode

    for model, path, decoded in (("digits_cnn", PNG, _picture(PNG, isp=None)),
                                 ("digits_raw_cnn", DNG, _raw(DNG, isp=ISP))):
        live = served.service.slots.get(model)  # type: ignore[attr-defined]
        assert isinstance(live.image, ImageInput)
        assert np.array_equal(decode(path.read_bytes(), live.image).pixels, decoded), model
        pinned = image_models.entries[model]
        expected = _trained_prediction(image_models.root, model, pinned["version"], pinned["artifact_sha256"], decoded)
        answer = served.client.post(f"/predict/{model}", files=[("file", (path.name, path.read_bytes()))])
        assert answer.status_code == 200 and answer.json()["predictions"] == [expected], answer.text
    assert served.service.slots.get("digits_raw_cnn").image.isp == ISP  # type: ignore[attr-defined]
    # and the overrides matter: without them the same DNG decodes to other pixels
    assert not np.array_equal(_raw(DNG, isp=None), _raw(DNG, isp=ISP))


def test_wrong_sizes_garbage_and_too_many_images_are_refused(served: Running) -> None:
    import io

    from PIL import Image

    big = io.BytesIO()
    Image.new("L", (40, 30)).save(big, format="PNG")
    wrong = served.client.post("/predict/digits_cnn", files=[("file", ("big.png", big.getvalue()))])
    assert wrong.status_code == 422 and "40x30" in wrong.text and "32x32" in wrong.text, wrong.text
    garbage = served.client.post("/predict/digits_cnn", files=[("file", ("x.png", b"GIF89a not an image"))])
    assert garbage.status_code == 422 and "not a PNG, JPEG or DNG" in garbage.text, garbage.text
    truncated = base64.b64encode(PNG.read_bytes()[:60]).decode()
    cut = served.client.post("/predict/digits_cnn", json={"images": [_b64(PNG), truncated]})
    assert cut.status_code == 422 and cut.json()["detail"][0]["loc"] == ["body", "images", 1], cut.text
    assert served.client.post("/predict/digits_cnn", json={"images": ["***"]}).status_code == 422
    assert served.client.post("/predict/digits_cnn", json=ROW).status_code == 422
    many = served.client.post("/predict/digits_cnn", json={"images": [_b64(PNG)] * 5})
    assert many.status_code == 413 and "MLPIN_MAX_ROWS" in many.text


def test_the_log_keeps_each_images_digest_and_statistics_not_its_bytes(served: Running) -> None:
    answer = served.client.post("/predict/digits_cnn", files=[("file", ("seven.png", PNG.read_bytes()))],
                                headers={"x-request-id": "image-log-1"})
    assert answer.status_code == 200
    folder = served.service.settings.log_dir  # type: ignore[attr-defined]
    text = "".join(p.read_text() for p in Path(folder).rglob("*") if p.is_file())
    record = next(json.loads(line) for line in text.splitlines() if "image-log-1" in line)
    (image,) = record["inputs"]
    assert image["sha256"] == hashlib.sha256(PNG.read_bytes()).hexdigest()
    assert (image["width"], image["height"], image["format"], len(image["mean"])) == (32, 32, "png", 1)
    assert 0 <= image["mean"][0] <= 1
    assert record["outputs"][0]["label"] == "7" and _b64(PNG)[:40] not in text


def test_a_tabular_model_is_unaffected_and_refuses_images(served: Running) -> None:
    assert served.client.post(f"/predict/{MODEL}", json=ROW).status_code == 200
    upload = served.client.post(f"/predict/{MODEL}", files=[("file", ("seven.png", PNG.read_bytes()))])
    assert upload.status_code == 415 and "tabular" in upload.text
    as_json = served.client.post(f"/predict/{MODEL}", json={"images": [_b64(PNG)]})
    assert as_json.status_code == 422 and "not images" in as_json.text
    assert served.client.post("/invocations?model=digits_cnn", json={"inputs": [ROW]}).status_code == 422


def test_the_openapi_document_describes_the_image_bodies(served: Running) -> None:
    operation = served.client.get("/openapi.json").json()["paths"]["/predict/digits_cnn"]["post"]
    content = operation["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"]["properties"]["file"]["items"]["format"] == "binary"
    assert {"images", "image"} == {next(iter(s["properties"])) for s in content["application/json"]["schema"]["oneOf"]}
    models = {m["name"]: m for m in served.client.get("/models").json()}
    assert models["digits_cnn"]["images"] == {"height": 32, "width": 32, "channels": 1,
                                              "classes": [str(n) for n in range(10)]}
