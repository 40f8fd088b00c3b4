"""The model registry contract, run against both registries: MLflow on SQLite and the
in-memory fake. Both must number versions per model, keep lineage tags, move aliases
idempotently, find versions by spec hash, and never unpickle an artifact whose digest
is wrong. Image classifiers (CNNs) are stored beside scikit-learn models under the same
rules, and the tabular path never needs torch."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from pipelines.adapters.artifact import artifact_digest
from pipelines.adapters.modelformat import UnsafeModel
from pipelines.adapters.modelregistry import CandidateLog, ModelRegistry
from pipelines.core.errors import ArtifactMismatch, NotFound
from pipelines.core.inputs import InputColumn, with_contract
from pipelines.core.lineage import tag
from tests.fakes.registry import MemoryRegistry, sample_candidate, sample_cnn_candidate, sample_images
from tests.helpers import PROJECT, copy_store

SPEC, OTHER_SPEC = "a" * 64, "b" * 64
CONFUSION = {"labels": ["no", "yes"], "matrix": [[2, 1], [0, 3]]}
VERDICT = tag("verdict")


def mlflow_artifact_path(registry, model: str, version: int) -> Path:
    """Where MLflow keeps a version's folder (its logged model's artifact location)."""
    source = registry.client.get_model_version(model, str(version)).source
    if source.startswith("models:/"):  # a scikit-learn model: logged through MLflow's flavor
        source = registry.client.get_logged_model(source.removeprefix("models:/")).artifact_location
    return Path(url2pathname(urlparse(source).path))  # a CNN: the run's own artifact folder


@pytest.fixture(params=["mlflow-sqlite", "memory"])
def registry_and_store(request, tmp_path: Path) -> tuple[ModelRegistry, Callable[[str, int], Path]]:
    """A registry, and where it stores a version's folder (to tamper with it)."""
    if request.param == "memory":
        registry = MemoryRegistry(tmp_path / "memory")
        return registry, registry.artifact_path
    from pipelines.adapters.registry import Registry

    registry = Registry(copy_store(tmp_path / "repo", request.getfixturevalue("mlflow_template")))
    return registry, lambda model, version: mlflow_artifact_path(registry, model, version)


@pytest.fixture
def registry(registry_and_store) -> ModelRegistry:
    return registry_and_store[0]


def candidate(model: str = "wine", *, spec_hash: str = SPEC) -> CandidateLog:
    return sample_candidate(model, spec_hash=spec_hash, extras={"confusion_matrix": CONFUSION})


def test_both_implement_the_port(registry) -> None:
    assert isinstance(registry, ModelRegistry)


def test_register_numbers_versions_per_model_and_records_lineage(registry) -> None:
    entry = candidate()
    first, second = registry.log_candidate(entry), registry.log_candidate(entry)
    other = registry.log_candidate(candidate("cancer"))
    assert [(v.model, v.version) for v in (first, second, other)] == [("wine", 1), ("wine", 2), ("cancer", 1)]
    assert len({first.run_id, second.run_id, other.run_id}) == 3 and first.tracking_uri == registry.uri
    assert first.artifact_sha256 == second.artifact_sha256, "the same fitted model gives the same digest"
    assert registry.version_tags("wine", 2) == {**entry.tags, tag("artifact_sha256"): second.artifact_sha256}
    assert registry.run_id("wine", 2) == second.run_id
    assert registry.run_metrics(second.run_id) == entry.metrics
    assert json.loads(registry.read_text(second.run_id, "evaluation/confusion_matrix.json")) == CONFUSION


def test_tags_are_added_and_overwritten(registry) -> None:
    registry.log_candidate(candidate())
    registry.tag_version("wine", 1, {VERDICT: "blocked", tag("eval_rows"): "45"})
    registry.tag_version("wine", 1, {VERDICT: "passed"})
    registry.tag_version("wine", 1, {VERDICT: "passed"})
    tags = registry.version_tags("wine", 1)
    assert (tags[VERDICT], tags[tag("eval_rows")], tags[tag("spec_hash")]) == ("passed", "45", SPEC)


CALLS = {
    "version_tags": lambda r, m, v, tmp: r.version_tags(m, v),
    "tag_version": lambda r, m, v, tmp: r.tag_version(m, v, {VERDICT: "passed"}),
    "run_id": lambda r, m, v, tmp: r.run_id(m, v),
    "version_digest": lambda r, m, v, tmp: r.version_digest(m, v),
    "download_version": lambda r, m, v, tmp: r.download_version(m, v, tmp),
    "load_verified": lambda r, m, v, tmp: r.load_verified(m, v, expected_sha256="0" * 64),
}


@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
def test_an_unknown_version_is_not_found(registry, tmp_path: Path, call) -> None:
    registry.log_candidate(candidate())
    for model, version in (("wine", 7), ("wine", 0), ("unknown", 1)):
        with pytest.raises(NotFound, match=f"{model} has no registered version {version}"):
            call(registry, model, version, tmp_path / "download")
    assert not (tmp_path / "download").exists(), "nothing is downloaded for a version that does not exist"


MISUSE = {
    "alias-on-unknown-version": lambda r: r.set_alias("wine", "production", 7),
    "alias-on-unknown-model": lambda r: r.set_alias("unknown", "production", 1),
    "delete-alias-of-unknown-model": lambda r: r.delete_alias("unknown", "production"),
    "metrics-of-unknown-run": lambda r: r.run_metrics("no-such-run"),
    "log-metrics-on-unknown-run": lambda r: r.log_metrics("no-such-run", {"accuracy": 1.0}),
    "text-on-unknown-run": lambda r: r.log_text("no-such-run", "report", "mlpin/candidate.md"),
}


@pytest.mark.parametrize("call", list(MISUSE.values()), ids=list(MISUSE))
def test_misuse_is_not_found(registry, call) -> None:
    registry.log_candidate(candidate())
    with pytest.raises(NotFound):
        call(registry)
    assert registry.alias_version("wine", "production") is None


def test_aliases_are_set_moved_listed_and_deleted(registry) -> None:
    assert registry.alias_version("unknown", "production") is None
    for _ in range(2):
        registry.log_candidate(candidate())
    registry.log_candidate(candidate("cancer"))
    assert registry.alias_version("wine", "production") is None and registry.models_with_alias("production") == {}
    registry.set_alias("wine", "production", 1)
    registry.set_alias("wine", "production", 1)
    registry.set_alias("cancer", "staging", 1)
    assert registry.models_with_alias("production") == {"wine": 1}
    registry.set_alias("wine", "production", 2)
    registry.set_alias("cancer", "production", 1)
    assert registry.models_with_alias("production") == {"wine": 2, "cancer": 1}
    registry.delete_alias("wine", "production")
    registry.delete_alias("wine", "production")
    assert registry.alias_version("wine", "production") is None and registry.alias_version("cancer", "staging") == 1
    assert registry.models_with_alias("production") == {"cancer": 1}


def test_newest_version_by_spec_hash_and_tag(registry) -> None:
    for spec in (SPEC, OTHER_SPEC, SPEC, OTHER_SPEC):
        registry.log_candidate(candidate(spec_hash=spec))
    registry.tag_version("wine", 1, {VERDICT: "passed"})
    assert registry.newest_version("wine", spec_hash=SPEC) == 3
    assert registry.newest_version("wine", spec_hash=OTHER_SPEC) == 4
    assert registry.newest_version("wine", spec_hash=SPEC, with_tag=VERDICT) == 1, "tags added later count"
    assert registry.newest_version("wine", spec_hash=OTHER_SPEC, with_tag=VERDICT) is None
    assert registry.newest_version("wine", spec_hash="c" * 64) is None
    assert registry.newest_version("unknown", spec_hash=SPEC) is None


def test_logged_metrics_join_the_training_metrics(registry) -> None:
    entry = candidate()
    logged = registry.log_candidate(entry)
    registry.log_metrics(logged.run_id, {"production.accuracy": 0.5})
    assert registry.run_metrics(logged.run_id) == {**entry.metrics, "production.accuracy": 0.5}


def test_texts_are_stored_replaced_and_missing_is_none(registry) -> None:
    run_id = registry.log_candidate(candidate()).run_id
    assert registry.read_text(run_id, "mlpin/candidate.md") is None
    assert registry.read_text(run_id, "top.md") is None
    registry.log_text(run_id, "# first", "mlpin/candidate.md")
    registry.log_text(run_id, "# second", "mlpin/candidate.md")
    registry.log_text(run_id, "top", "top.md")
    assert (registry.read_text(run_id, "mlpin/candidate.md"), registry.read_text(run_id, "top.md")) == (
        "# second",
        "top",
    )
    assert registry.read_text(run_id, "mlpin/other.md") is None


def test_the_digest_is_stable_across_downloads(registry, tmp_path: Path) -> None:
    logged = registry.log_candidate(candidate())
    folders = [registry.download_version("wine", 1, tmp_path / name) for name in ("one", "two")]
    assert all(f.is_relative_to(tmp_path) and (f / "MLmodel").is_file() for f in folders)
    assert artifact_digest(folders[0]) == artifact_digest(folders[1]) == logged.artifact_sha256
    assert registry.version_digest("wine", 1) == logged.artifact_sha256


def test_optional_columns_and_allowed_values_travel_with_the_model_under_its_digest(registry, tmp_path: Path) -> None:
    from mlflow.models import Model

    inputs = [InputColumn(name="alcohol", type="double", required=False),
              InputColumn(name="hue", type="double", values=["0.6", "0.7"], allow_unseen=True)]  # stored as given
    logged = registry.log_candidate(dataclasses.replace(candidate(), inputs=inputs))
    folder = registry.download_version("wine", 1, tmp_path / "one")
    meta = Model.load(str(folder))
    signature = [InputColumn(name=c.name, type=c.type.name, required=c.required) for c in meta.signature.inputs.inputs]
    assert with_contract(signature, meta.metadata) == inputs
    plain = registry.log_candidate(candidate())
    assert plain.artifact_sha256 != logged.artifact_sha256, "the allowed values are covered by the digest"


def test_a_verified_model_predicts_and_a_wrong_digest_is_refused(registry) -> None:
    entry = candidate()
    logged = registry.log_candidate(entry)
    loaded = registry.load_verified("wine", 1, expected_sha256=logged.artifact_sha256)
    rows = entry.example.assign(alcohol=entry.example.alcohol[::-1].to_numpy())
    assert list(loaded.predict(rows)) == list(entry.fitted.predict(rows)) and loaded is not entry.fitted
    with pytest.raises(ArtifactMismatch, match="refusing to load it"):
        registry.load_verified("wine", 1, expected_sha256="f" * 64)


class Trap:
    """A pickle that creates `marker` when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_tampered_artifact_is_never_unpickled(registry_and_store, tmp_path: Path) -> None:
    registry, stored = registry_and_store
    logged = registry.log_candidate(candidate())
    marker = tmp_path / "unpickled"
    trap = pickle.dumps(Trap(marker))
    (stored("wine", 1) / "model.skops").write_bytes(trap)
    assert registry.version_digest("wine", 1) != logged.artifact_sha256
    with pytest.raises(ArtifactMismatch):
        registry.load_verified("wine", 1, expected_sha256=logged.artifact_sha256)
    assert not marker.exists(), "the tampered pickle was executed"
    pickle.loads(trap)
    assert marker.exists(), "the trap works: loading it would have been noticed"


def test_a_pickle_registered_with_its_own_digest_is_refused_and_never_executed(registry_and_store,
                                                                              tmp_path: Path) -> None:
    # What a hostile job with registry access could register: the digest matches the bytes.
    registry, stored = registry_and_store
    registry.log_candidate(candidate())
    folder, marker = stored("wine", 1), tmp_path / "unpickled"
    (folder / "model.skops").unlink()
    (folder / "model.pkl").write_bytes(pickle.dumps(Trap(marker)))
    mlmodel = folder / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("model.skops", "model.pkl").replace("skops\n", "pickle\n"))
    with pytest.raises(UnsafeModel, match="stored as 'pickle'"):
        registry.load_verified("wine", 1, expected_sha256=registry.version_digest("wine", 1))
    assert not marker.exists(), "the pickle was executed"


def test_a_downloaded_version_loads_and_passes_servings_smoke_test(registry, tmp_path: Path) -> None:
    from datetime import datetime

    from serving.loader import load, smoke_test

    logged = registry.log_candidate(candidate())
    folder = registry.download_version("wine", 1, tmp_path / "download")
    live = load(folder, name="wine", version=1, artifact_sha256=logged.artifact_sha256,
                tags=registry.version_tags("wine", 1), now=datetime.now(UTC))
    smoke_test(live)
    assert (live.task, [c.name for c in live.columns], len(live.example)) == ("classification", ["alcohol", "hue"], 6)


def test_the_digest_of_an_unregistered_candidate_is_the_one_registering_it_records(registry) -> None:
    entry = candidate()
    measured = registry.artifact_digest_of(entry)
    assert registry.models_with_alias("production") == {}
    with pytest.raises(NotFound):
        registry.version_tags("wine", 1)  # measuring wrote no version
    assert registry.log_candidate(entry).artifact_sha256 == measured
    refit = dataclasses.replace(entry, fitted=sample_candidate("wine").fitted.set_params(C=0.5).fit(
        entry.example, ["no", "no", "yes", "yes", "no", "yes"]))
    assert registry.artifact_digest_of(refit) != measured


def test_a_check_is_a_run_with_metrics_and_texts_that_registers_nothing(registry) -> None:
    run_id = registry.log_check("wine", name="drift 2026-11-30", metrics={"drift.alcohol": 0.01, "drift.share": 0.5},
                                tags={tag("kind"): "drift_check", tag("model_version"): "3"},
                                texts={"drift/report.md": "# drifted\n"})
    assert registry.run_metrics(run_id) == {"drift.alcohol": 0.01, "drift.share": 0.5}
    assert registry.read_text(run_id, "drift/report.md") == "# drifted\n"
    with pytest.raises(NotFound):
        registry.version_tags("wine", 1)


@pytest.fixture(scope="module")
def cnn_fitted():
    """One tiny CNN for the module: training is the slow part, logging is what is tested."""
    return sample_cnn_candidate().fitted


def test_a_cnn_is_numbered_like_any_model_and_its_digest_is_the_measured_one(registry, cnn_fitted) -> None:
    entry = sample_cnn_candidate(fitted=cnn_fitted)
    measured = registry.artifact_digest_of(entry)
    registry.log_candidate(candidate())
    first, second = registry.log_candidate(entry), registry.log_candidate(entry)
    assert [(v.model, v.version) for v in (first, second)] == [("shapes", 1), ("shapes", 2)]
    assert first.artifact_sha256 == second.artifact_sha256 == measured == registry.version_digest("shapes", 2)
    assert registry.version_tags("shapes", 1) == {**entry.tags, tag("artifact_sha256"): measured}
    assert registry.run_metrics(first.run_id) == entry.metrics
    retrained = sample_cnn_candidate()  # a second, identical training: the same bytes
    assert registry.artifact_digest_of(retrained) == measured


def test_a_cnn_version_downloads_as_an_mlflow_folder_with_its_signature(registry, cnn_fitted, tmp_path: Path) -> None:
    import numpy as np
    from mlflow.models import Model

    entry = sample_cnn_candidate(fitted=cnn_fitted)
    logged = registry.log_candidate(entry)
    folder = registry.download_version("shapes", 1, tmp_path / "download")
    assert {"MLmodel", "cnn/cnn.json", "cnn/weights.pt", "input_example.npy"} <= {
        p.relative_to(folder).as_posix() for p in folder.rglob("*")}
    assert artifact_digest(folder) == logged.artifact_sha256
    meta = Model.load(str(folder))
    assert meta.signature.inputs.inputs[0].shape == (-1, 16, 16, 1)
    assert [c.type.name for c in meta.signature.outputs.inputs] == ["string"]
    assert meta.metadata == {"classes": ["br", "tl"], "input_size": [16, 16], "input_channels": 1}
    example = np.load(folder / "input_example.npy", allow_pickle=False)
    assert example.dtype == np.float32 and np.array_equal(example, entry.example[:3])


def test_a_verified_cnn_predicts_as_trained_and_a_wrong_digest_is_refused(registry, cnn_fitted) -> None:
    from pipelines.tasks.cnn import FittedCnn

    logged = registry.log_candidate(sample_cnn_candidate(fitted=cnn_fitted))
    loaded = registry.load_verified("shapes", 1, expected_sha256=logged.artifact_sha256)
    images, _ = sample_images(12, seed=1)
    assert isinstance(loaded, FittedCnn) and loaded is not cnn_fitted
    assert list(loaded.predict(images)) == list(cnn_fitted.predict(images))
    assert loaded.predict_proba(images).tobytes() == cnn_fitted.predict_proba(images).tobytes()
    with pytest.raises(ArtifactMismatch, match="refusing to load it"):
        registry.load_verified("shapes", 1, expected_sha256="f" * 64)


def test_tampered_cnn_weights_are_refused_before_loading(registry_and_store, cnn_fitted, tmp_path: Path) -> None:
    registry, stored = registry_and_store
    logged = registry.log_candidate(sample_cnn_candidate(fitted=cnn_fitted))
    marker = tmp_path / "unpickled"
    (stored("shapes", 1) / "cnn" / "weights.pt").write_bytes(pickle.dumps(Trap(marker)))
    assert registry.version_digest("shapes", 1) != logged.artifact_sha256
    with pytest.raises(ArtifactMismatch):
        registry.load_verified("shapes", 1, expected_sha256=logged.artifact_sha256)
    assert not marker.exists(), "the tampered weights were unpickled"


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on the plain pickle's protocol
def test_cnn_weights_that_would_run_code_are_refused_even_with_their_own_digest(registry_and_store, cnn_fitted,
                                                                                 tmp_path: Path) -> None:
    registry, stored = registry_and_store
    registry.log_candidate(sample_cnn_candidate(fitted=cnn_fitted))
    marker = tmp_path / "unpickled"
    (stored("shapes", 1) / "cnn" / "weights.pt").write_bytes(pickle.dumps({"conv0.weight": Trap(marker)}))
    with pytest.raises(UnsafeModel, match="could run code"):
        registry.load_verified("shapes", 1, expected_sha256=registry.version_digest("shapes", 1))
    assert not marker.exists(), "the pickle was executed"


def test_a_cnn_folder_pointing_outside_itself_is_refused(registry_and_store, cnn_fitted, tmp_path: Path) -> None:
    from pipelines.adapters.cnnformat import save

    registry, stored = registry_and_store
    registry.log_candidate(sample_cnn_candidate(fitted=cnn_fitted))
    elsewhere = tmp_path / "elsewhere"
    save(cnn_fitted, elsewhere)  # a valid model: only the path check stands between it and loading
    mlmodel = stored("shapes", 1) / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("data: cnn", f"data: {elsewhere}"))
    with pytest.raises(UnsafeModel, match="not inside the artifact"):
        registry.load_verified("shapes", 1, expected_sha256=registry.version_digest("shapes", 1))


def test_serving_loads_and_smoke_tests_a_cnn_version_from_either_registry(registry, cnn_fitted,
                                                                        tmp_path: Path) -> None:
    from datetime import datetime

    from serving.loader import load, smoke_test

    logged = registry.log_candidate(sample_cnn_candidate(fitted=cnn_fitted))
    folder = registry.download_version("shapes", 1, tmp_path / "download")
    live = load(folder, name="shapes", version=1, artifact_sha256=logged.artifact_sha256,
                tags=registry.version_tags("shapes", 1), now=datetime.now(UTC))
    smoke_test(live)  # the logged example images, classified
    assert (live.name, live.version) == ("shapes", 1)


TABULAR_ONLY = """
import json, sys
from pathlib import Path
from pipelines.adapters.registry import Registry
from tests.fakes.registry import sample_candidate

on_import = sorted(m for m in sys.modules if m.split(".")[0] == "torch")

class NoTorch:  # as where torch is not installed; skops would import it otherwise, looking for estimators
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
registry = Registry(Path(sys.argv[1]))
logged = registry.log_candidate(sample_candidate())
loaded = registry.load_verified("wine", 1, expected_sha256=logged.artifact_sha256)
assert registry.artifact_digest_of(sample_candidate()) == logged.artifact_sha256
cnn = sorted(m for m in sys.modules if m.startswith(("pipelines.tasks.cnn", "pipelines.adapters.cnn")))
print(json.dumps({"on_import": on_import, "cnn_modules": cnn, "loaded": type(loaded).__name__}))
"""


def test_the_tabular_path_never_needs_torch(tmp_path: Path, mlflow_template: Path) -> None:
    root = copy_store(tmp_path / "repo", mlflow_template)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run([sys.executable, "-c", TABULAR_ONLY, str(root)], capture_output=True, text=True,
                          cwd=PROJECT, env={**env, "PYTHONPATH": str(PROJECT)}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "on_import": [], "cnn_modules": [], "loaded": "LogisticRegression"}
