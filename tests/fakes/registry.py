"""An in-memory model registry that passes the registry contract suite.

Faithful where stages rely on it: versions are numbered 1, 2, ... per model, each
version's model is a real artifact folder (a skops file and an MLmodel that MLflow and
serving can load, with an input example; a CNN's is the very folder the MLflow registry
logs, from `modelflavors.save_model_folder`), so digests, downloads and the check before
unpickling work on real bytes. Only the folders touch disk, in a private temp dir.
Params are not kept: nothing reads them back.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.adapters.artifact import artifact_digest, verify_artifact
from pipelines.adapters.modelflavors import SKLEARN, flavor_of, save_model_folder
from pipelines.adapters.modelformat import FORMAT, TRUSTED_TYPES, load_folder, save_types
from pipelines.adapters.modelregistry import EXTRAS_PATH, CandidateLog, LoggedVersion
from pipelines.core.errors import NotFound
from pipelines.core.inputs import InputColumn, contract_metadata
from pipelines.core.lineage import tag

MODEL_FILE = "model.skops"
EXAMPLE = "input_example.json"


@dataclass
class _Run:
    metrics: dict[str, float]
    texts: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    name: str = ""


@dataclass
class _Version:
    run_id: str
    tags: dict[str, str]
    folder: Path


class MemoryRegistry:
    """A ModelRegistry held in dicts; artifact folders under `folder` (default: a private temp dir)."""

    def __init__(self, folder: Path | None = None, *, uri: str = "memory://registry") -> None:
        if folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mlpin-registry-")  # removed with the registry
            folder = Path(self._tmp.name)
        self.folder = folder
        self.uri = uri
        self.runs: dict[str, _Run] = {}
        self.versions: dict[str, list[_Version]] = {}
        self.aliases: dict[str, dict[str, int]] = {}

    def artifact_path(self, model: str, version: int) -> Path:
        """The stored folder of a version, for tests that tamper with it."""
        return self._version(model, version).folder

    def log_candidate(self, entry: CandidateLog) -> LoggedVersion:
        """Record a run, store the model's folder and register it as the next version."""
        run_id = uuid.uuid4().hex
        texts = {EXTRAS_PATH.format(name=name): json.dumps(payload, indent=2) for name, payload in entry.extras.items()}
        self.runs[run_id] = _Run(metrics=dict(entry.metrics), texts=texts)
        versions = self.versions.setdefault(entry.model, [])
        folder = self.folder / entry.model / str(len(versions) + 1)
        _write_model(folder, entry, run_id=run_id)
        digest = artifact_digest(folder)
        versions.append(
            _Version(run_id=run_id, tags={**_strings(entry.tags), tag("artifact_sha256"): digest}, folder=folder)
        )
        return LoggedVersion(entry.model, len(versions), run_id, digest, self.uri)

    def artifact_digest_of(self, entry: CandidateLog) -> str:
        """The digest `log_candidate(entry)` would record, from a folder written and removed."""
        with tempfile.TemporaryDirectory(prefix="mlpin-digest-") as tmp:
            folder = Path(tmp) / "model"
            _write_model(folder, entry, run_id="none")
            return artifact_digest(folder)

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        """The tags of one registered version; NotFound if it does not exist."""
        return dict(self._version(model, version).tags)

    def tag_version(self, model: str, version: int, tags: dict[str, str]) -> None:
        """Add or overwrite tags on a registered version."""
        self._version(model, version).tags.update(_strings(tags))

    def run_id(self, model: str, version: int) -> str:
        """The run that produced a registered version."""
        return self._version(model, version).run_id

    def run_metrics(self, run_id: str) -> dict[str, float]:
        """The latest value of every metric of a run."""
        return dict(self._run(run_id).metrics)

    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        """Add metrics to an existing run."""
        self._run(run_id).metrics.update({k: float(v) for k, v in metrics.items()})

    def log_check(self, model: str, *, name: str, metrics: dict[str, float], tags: dict[str, str],
                  texts: dict[str, str]) -> str:
        """Record a run with metrics, tags and texts; nothing registered."""
        run_id = uuid.uuid4().hex
        self.runs[run_id] = _Run(metrics=dict(metrics), texts=dict(texts), tags=_strings(tags), name=name)
        return run_id

    def log_text(self, run_id: str, text: str, path: str) -> None:
        """Store a text file with a run."""
        self._run(run_id).texts[path] = text

    def read_text(self, run_id: str, path: str) -> str | None:
        """A text file stored with a run; None when there is none."""
        return self._run(run_id).texts.get(path)

    def newest_version(self, model: str, *, spec_hash: str, with_tag: str | None = None) -> int | None:
        """The newest version of `model` trained from `spec_hash` (and carrying `with_tag`)."""
        found = enumerate(self.versions.get(model, []), start=1)
        matching = [
            n
            for n, v in found
            if v.tags.get(tag("spec_hash")) == spec_hash and (with_tag is None or with_tag in v.tags)
        ]
        return max(matching, default=None)

    def alias_version(self, model: str, alias: str) -> int | None:
        """The version an alias points at; None when the alias or the model does not exist."""
        return self.aliases.get(model, {}).get(alias)

    def models_with_alias(self, alias: str) -> dict[str, int]:
        """Every registered model that has `alias`, and the version it points at."""
        return {model: found[alias] for model, found in self.aliases.items() if alias in found}

    def set_alias(self, model: str, alias: str, version: int) -> None:
        """Point `alias` of `model` at `version`."""
        self._version(model, version)
        self.aliases.setdefault(model, {})[alias] = version

    def delete_alias(self, model: str, alias: str) -> None:
        """Remove `alias` from `model`."""
        if model not in self.versions:
            raise NotFound(f"no registered model {model}")
        self.aliases.get(model, {}).pop(alias, None)

    def version_digest(self, model: str, version: int) -> str:
        """sha256 of a registered version's artifact folder, as stored."""
        return artifact_digest(self._version(model, version).folder)

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        """Copy a version's folder into `dst` (as MLflow does) and return `dst`."""
        shutil.copytree(self._version(model, version).folder, dst, dirs_exist_ok=True)
        return dst

    def load_verified(self, model: str, version: int, *, expected_sha256: str) -> Any:
        """Copy a version out, check its digest, and only then load it (modelformat.load_folder)."""
        with tempfile.TemporaryDirectory() as tmp:
            local = self.download_version(model, version, Path(tmp))
            verify_artifact(local, model=model, version=version, expected_sha256=expected_sha256)
            return load_folder(local)

    def _version(self, model: str, version: int) -> _Version:
        found = self.versions.get(model, [])
        if not 1 <= version <= len(found):
            raise NotFound(f"model {model} has no registered version {version}")
        return found[version - 1]

    def _run(self, run_id: str) -> _Run:
        if run_id not in self.runs:
            raise NotFound(f"no run {run_id}")
        return self.runs[run_id]


def sample_candidate(
    model: str = "wine", *, spec_hash: str = "a" * 64, extras: dict[str, Any] | None = None
) -> CandidateLog:
    """A logistic regression fitted on six rows, ready to log as `model`."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame({"alcohol": [11.0, 12.0, 13.0, 14.0, 12.5, 13.5], "hue": [1.0, 0.9, 0.8, 0.7, 1.1, 0.6]})
    fitted = LogisticRegression().fit(x, ["no", "no", "yes", "yes", "no", "yes"])
    return CandidateLog(
        model=model,
        fitted=fitted,
        inputs=[InputColumn(name="alcohol", type="double"), InputColumn(name="hue", type="double")],
        output_type="string",
        example=x,
        params={"estimator": {"kind": "logistic_regression", "C": 1.0}},
        metrics={"accuracy": 0.75, "f1_macro": 0.5},
        tags={tag("spec_hash"): spec_hash, tag("task"): "classification"},
        extras=extras or {},
    )


CNN_PARAMS = {"channels": [4, 8], "dense": 16, "epochs": 2, "batch_size": 10, "learning_rate": 0.01,
              "input_size": (16, 16)}


def sample_images(n: int = 30, *, seed: int = 0) -> tuple[Any, list[str]]:
    """`n` 16x16 grey images: dim noise with a bright square top-left ('tl') or bottom-right ('br')."""
    import numpy as np

    images = np.random.default_rng(seed).uniform(0.0, 0.2, (n, 16, 16, 1)).astype(np.float32)
    labels = ["tl" if i % 2 else "br" for i in range(n)]
    for i, label in enumerate(labels):
        corner = slice(2, 7) if label == "tl" else slice(9, 14)
        images[i, corner, corner] += 0.7
    return images, labels


def sample_cnn_candidate(model: str = "shapes", *, spec_hash: str = "a" * 64, fitted: Any = None) -> CandidateLog:
    """A tiny CNN trained for two epochs on `sample_images()` (or `fitted`), ready to log as `model`."""
    from pipelines.tasks.cnn import cnn_params, fit

    images, labels = sample_images()
    params = cnn_params(CNN_PARAMS)
    return CandidateLog(
        model=model,
        fitted=fitted if fitted is not None else fit(images, labels, params),
        inputs=[],
        output_type="string",
        example=images[:5],
        params=params.model_dump(mode="json"),
        metrics={"accuracy": 0.9},
        tags={tag("spec_hash"): spec_hash, tag("task"): "image_classification"},
    )


def _write_model(folder: Path, entry: CandidateLog, *, run_id: str) -> None:
    """A folder shaped like MLflow's sklearn flavor (what the digest and serving read), or for any
    other flavor the folder the MLflow registry logs."""
    import sklearn
    import yaml

    if flavor_of(entry.fitted) != SKLEARN:
        save_model_folder(entry, folder)
        return
    folder.mkdir(parents=True)
    import skops.io

    save_types(entry.fitted)  # the same refusal as the MLflow registry's
    skops.io.dump(entry.fitted, folder / MODEL_FILE)
    inputs = [{"type": c.type, "name": c.name, "required": c.required} for c in entry.inputs]
    mlmodel = {
        "artifact_path": "model",
        "model_uuid": uuid.uuid4().hex,
        "run_id": run_id,
        "utc_time_created": str(datetime.now(UTC).replace(tzinfo=None)),
        "flavors": {
            "python_function": {"loader_module": "mlflow.sklearn", "model_path": MODEL_FILE, "predict_fn": "predict"},
            "sklearn": {
                "code": None,
                "pickled_model": MODEL_FILE,
                "serialization_format": FORMAT,
                "skops_trusted_types": sorted(TRUSTED_TYPES),
                "sklearn_version": sklearn.__version__,
            },
        },
        "signature": {
            "inputs": json.dumps(inputs),
            "outputs": json.dumps([{"type": entry.output_type, "required": True}]),
            "params": None,
        },
    }
    mlmodel["metadata"] = contract_metadata(entry.inputs)
    if entry.example is not None:
        (folder / EXAMPLE).write_text(entry.example.to_json(orient="split", index=False))
        mlmodel["saved_input_example_info"] = {"artifact_path": EXAMPLE, "pandas_orient": "split", "type": "dataframe"}
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=True))


def _strings(tags: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in tags.items()}

