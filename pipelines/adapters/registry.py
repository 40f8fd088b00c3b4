"""MLflow as the store of model bytes, metrics and lineage.

Embedded default: a SQLite store and an artifact folder under `<repo>/.mlpin/`.
`MLFLOW_TRACKING_URI` switches to a server. Nothing here decides anything; failures
of MLflow itself become OutsideSystemError, unknown versions NotFound.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.adapters.artifact import artifact_digest, verify_artifact
from pipelines.adapters.modelflavors import SKLEARN, flavor_of, requirements_unchecked, save_model_folder, sklearn_args
from pipelines.adapters.modelformat import load_folder
from pipelines.adapters.modelregistry import EXTRAS_PATH, CandidateLog, LoggedVersion
from pipelines.core.errors import AccessRefused, MlpinError, NotFound, OutsideSystemError
from pipelines.core.lineage import tag

ARTIFACT_PATH = "model"


def state_dir(root: Path) -> Path:
    """Where the embedded default keeps its state (gitignored)."""
    return root / ".mlpin"


def tracking_uri(root: Path) -> str:
    """`MLFLOW_TRACKING_URI` if set, else the embedded SQLite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{state_dir(root) / 'mlflow.db'}"


@contextlib.contextmanager
def _outside(action: str) -> Iterator[None]:
    """MLflow's own failures become mlpin's: a missing run, model or version is NotFound;
    the store or the server failing is OutsideSystemError. Anything else is a bug in
    mlpin and propagates as itself, never dressed up as an outage."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlpinError:
        raise
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise NotFound(f"{action} failed: {exc.message}") from exc
        raise _failure(exc, action) from exc
    except _outside_failures() as exc:
        # the proxied artifact store answers through requests: its 401/403 are refusals too
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        detail = getattr(response, "text", "") or ""  # the body, not str(exc): that names the URL
        raise _refusal(status, action, detail) or OutsideSystemError("mlflow", f"{action} failed: {exc}") from exc


def _failure(exc: Any, action: str) -> MlpinError:
    """An MlflowException that is not a missing resource: refused credentials, or an outage."""
    refused = _refusal(REFUSALS.get(exc.error_code), action, exc.message)
    return refused or OutsideSystemError("mlflow", f"{action} failed: {exc}")


REFUSALS = {"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403}
READS = ("reading", "searching", "listing", "downloading")
INVALID_HOST = "Invalid Host header"  # MLflow's answer to a Host it does not serve (DNS-rebinding guard)


def _refusal(status: int | None, action: str, detail: str) -> AccessRefused | None:
    """A tracking server refusing the credentials (401) or a permission (403): a person must give
    the job other credentials, so it is invalid input (exit 2), not an outage to retry. The
    server's own words are kept: not every 403 is a missing permission."""
    said = f" (MLflow said: {_first_line(detail)})" if detail else ""
    if status == 401:
        return AccessRefused(f"MLflow refused the credentials while {action}: set MLFLOW_TRACKING_USERNAME and "
                             "MLFLOW_TRACKING_PASSWORD (HTTP Basic: MLflow's basic-auth app takes no bearer token)"
                             + said, ids={"system": "mlflow"})
    if status == 403 and INVALID_HOST in detail:
        host = urlsplit(os.environ.get("MLFLOW_TRACKING_URI", "")).netloc.rpartition("@")[2] or "its host"
        return AccessRefused(f"MLflow refused {action}: it does not serve the host name {host} (Invalid Host "
                             f"header); add {host} to the tracking server's --allowed-hosts, or reach it by a "
                             "host name it allows", ids={"system": "mlflow", "host": host})
    if status == 403:
        user = os.environ.get("MLFLOW_TRACKING_USERNAME", "(anonymous)")
        needed = "READ" if action.startswith(READS) else "EDIT"
        fix = ("on the registered model and on its run's experiment (the artifact store serves files by experiment)"
               if needed == "READ" else
               "there; registry writes belong to trusted jobs (propose, deploy) with the writer's credentials")
        return AccessRefused(f"MLflow denied {action} to user {user}: it needs {needed} permission {fix}{said}",
                             ids={"system": "mlflow", "user": user, "permission": needed})
    return None


def _first_line(detail: str) -> str:
    """The server's message, one line, bounded (an HTML error page must not flood the report)."""
    body = detail.partition("Response body: ")[2].strip("'\" ") or detail  # MLflow's client wraps the body
    line = next((part.strip() for part in body.splitlines() if part.strip()), "")
    return line[:300]


def _outside_failures() -> tuple[type[BaseException], ...]:
    # What MLflow lets through from its store and transport: SQLAlchemy (the database),
    # requests (a tracking server), OSError (files, connections), and the object stores'
    # SDKs where installed (S3 through botocore, GCS, Azure), whose errors are plain Exceptions.
    import requests
    import sqlalchemy.exc

    found: list[type[BaseException]] = [sqlalchemy.exc.SQLAlchemyError, requests.RequestException, OSError]
    for module, names in OBJECT_STORE_ERRORS:
        with contextlib.suppress(ImportError):
            imported = importlib.import_module(module)
            found += [getattr(imported, name) for name in names]
    return tuple(found)


OBJECT_STORE_ERRORS = (
    ("botocore.exceptions", ("BotoCoreError", "ClientError")),
    ("google.api_core.exceptions", ("GoogleAPIError",)),
    ("azure.core.exceptions", ("AzureError",)),
)


class Registry:
    """The MLflow tracking store and model registry of one repository (a ModelRegistry)."""

    def __init__(self, root: Path) -> None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network lookups
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        # with a tracking server MLflow prints each run's URL on stdout, which --json keeps for JSON
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        import mlflow

        # MLflow configures its loggers on import, so quieten them afterwards.
        logging.getLogger("mlflow").setLevel(logging.WARNING)

        self.root = root
        self.uri = tracking_uri(root)
        self.embedded = "MLFLOW_TRACKING_URI" not in os.environ
        if self.embedded:
            state_dir(root).mkdir(parents=True, exist_ok=True)
        with _environment_kept("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            # MLflow 3 also exports these as environment variables; left there, the next
            # Registry in this process would take the embedded store for a server.
            mlflow.set_tracking_uri(self.uri)
            mlflow.set_registry_uri(self.uri)
        self.client = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment_id(self, model: str) -> str:
        """The experiment of `model`, created with an explicit artifact location."""
        name = f"mlpin/{model}"
        with _outside(f"opening experiment {name}"):
            found = self.client.get_experiment_by_name(name)
            if found is not None:
                return found.experiment_id
            return self.client.create_experiment(name, artifact_location=self._artifact_location(model))

    def _artifact_location(self, model: str) -> str | None:
        base = os.environ.get("MLPIN_ARTIFACT_URI")
        if base:
            return f"{base.rstrip('/')}/{model}"
        if self.embedded:
            return (state_dir(self.root) / "artifacts" / model).resolve().as_uri()
        return None  # the server's default artifact root

    def log_candidate(self, entry: CandidateLog) -> LoggedVersion:
        """Log a run with the model, then register it as a new version carrying all tags."""
        import mlflow

        experiment = self.experiment_id(entry.model)
        with tempfile.TemporaryDirectory() as tmp:
            log_model = _model_logger(entry, Path(tmp))  # before anything is written: an unsafe model logs nothing
            with _outside(f"logging a run of {entry.model}"), _quiet_stderr():
                with mlflow.start_run(experiment_id=experiment,
                                      run_name=entry.tags.get(tag("spec_hash"), "")[:12]) as run:
                    mlflow.set_tags(entry.tags)
                    mlflow.log_params(_flat(entry.params))
                    mlflow.log_metrics(entry.metrics)
                    for name, payload in entry.extras.items():
                        mlflow.log_dict(payload, EXTRAS_PATH.format(name=name))
                    model_uri = log_model(run.info.run_id)
                    digest = self._artifact_digest(model_uri)
                    mlflow.set_tag(tag("artifact_sha256"), digest)
                tags = {**entry.tags, tag("artifact_sha256"): digest}
                version = mlflow.register_model(model_uri, entry.model, tags=tags)
        return LoggedVersion(entry.model, int(version.version), run.info.run_id, digest, self.uri)

    def artifact_digest_of(self, entry: CandidateLog) -> str:
        """The digest `log_candidate(entry)` would record: the same folder, saved to a temporary
        directory; no run, no version, nothing on the tracking server."""
        with tempfile.TemporaryDirectory() as tmp, _quiet_stderr():
            folder = Path(tmp) / ARTIFACT_PATH
            save_model_folder(entry, folder)
            return artifact_digest(folder)

    def version_digest(self, model: str, version: int) -> str:
        """sha256 of a registered version's artifact folder, as stored (nothing is unpickled)."""
        self._version(model, version)
        return self._artifact_digest(f"models:/{model}/{version}")

    def run_metrics(self, run_id: str) -> dict[str, float]:
        """The latest value of every metric of a run."""
        with _outside(f"reading run {run_id}"):
            return dict(self.client.get_run(run_id).data.metrics)

    def _artifact_digest(self, model_uri: str) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            return artifact_digest(self._download(model_uri, Path(tmp)))

    def _download(self, model_uri: str, dst: Path) -> Path:
        import mlflow

        with _outside(f"downloading {model_uri}"):
            return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dst)))

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        """Download a registered version's folder into `dst`, as stored; nothing is unpickled."""
        self._version(model, version)
        return self._download(f"models:/{model}/{version}", dst)

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        """The tags of one registered version; NotFound if it does not exist."""
        return dict(self._version(model, version).tags)

    def run_id(self, model: str, version: int) -> str:
        """The run that produced a registered version."""
        return self._version(model, version).run_id

    def _version(self, model: str, version: int) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(model, str(version))
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise NotFound(f"model {model} has no registered version {version}") from None
            raise _failure(exc, f"reading {model} v{version}") from exc

    def newest_version(self, model: str, *, spec_hash: str, with_tag: str | None = None) -> int | None:
        """The newest registered version of `model` trained from `spec_hash` (and carrying `with_tag`)."""
        with _outside(f"searching versions of {model}"):
            found = self.client.search_model_versions(f"name='{model}'")
        matching = [int(v.version) for v in found
                    if v.tags.get(tag("spec_hash")) == spec_hash and (with_tag is None or with_tag in v.tags)]
        return max(matching, default=None)

    def alias_version(self, model: str, alias: str) -> int | None:
        """The version an alias points at; None when the alias or the model does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return int(self.client.get_model_version_by_alias(model, alias).version)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise _failure(exc, f"reading alias {alias} of {model}") from exc

    def models_with_alias(self, alias: str) -> dict[str, int]:
        """Every registered model that has `alias`, and the version it points at."""
        with _outside("listing registered models"):
            found = self.client.search_registered_models()
            pages = list(found)
            while found.token:
                found = self.client.search_registered_models(page_token=found.token)
                pages += list(found)
        return {m.name: int(m.aliases[alias]) for m in pages if alias in (m.aliases or {})}

    def set_alias(self, model: str, alias: str, version: int) -> None:
        """Point `alias` of `model` at `version`."""
        with _outside(f"setting alias {alias} of {model} to v{version}"):
            self.client.set_registered_model_alias(model, alias, str(version))

    def delete_alias(self, model: str, alias: str) -> None:
        """Remove `alias` from `model`."""
        with _outside(f"removing alias {alias} of {model}"):
            self.client.delete_registered_model_alias(model, alias)

    def log_check(self, model: str, *, name: str, metrics: dict[str, float], tags: dict[str, str],
                  texts: dict[str, str]) -> str:
        """A run in the model's experiment with metrics, tags and texts; nothing registered."""
        experiment = self.experiment_id(model)
        with _outside(f"logging a check of {model}"):
            run = self.client.create_run(experiment, run_name=name, tags=tags)
            run_id = run.info.run_id
            for key, value in metrics.items():
                self.client.log_metric(run_id, key, value)
            for path, text in texts.items():
                self.client.log_text(run_id, text, path)
            self.client.set_terminated(run_id)
        return run_id

    def log_text(self, run_id: str, text: str, path: str) -> None:
        """Store a text file (e.g. the candidate report) with a run."""
        with _outside(f"storing {path} with run {run_id}"):
            self.client.log_text(run_id, text, path)

    def read_text(self, run_id: str, path: str) -> str | None:
        """A text file stored with a run; None when there is none."""
        import mlflow

        with _outside(f"listing artifacts of run {run_id}"):
            folder, _, name = path.rpartition("/")
            if name not in {Path(f.path).name for f in self.client.list_artifacts(run_id, folder or None)}:
                return None
        with _outside(f"reading {path} of run {run_id}"):
            return mlflow.artifacts.load_text(f"runs:/{run_id}/{path}")

    def load_verified(self, model: str, version: int, *, expected_sha256: str) -> Any:
        """Download a version, check its digest, and only then load it (modelformat.load_folder, safely)."""

        run_id = self._version(model, version).run_id
        with tempfile.TemporaryDirectory() as tmp:
            local = self._download(f"models:/{model}/{version}", Path(tmp))
            verify_artifact(local, model=model, version=version, expected_sha256=expected_sha256)
            try:
                return load_folder(local)
            except MlpinError:
                raise
            except Exception as exc:  # verified bytes that do not unpickle here: any error type
                raise OutsideSystemError("mlflow", f"loading {model} v{version} (run {run_id}) failed: {exc}") from exc

    def tag_version(self, model: str, version: int, tags: dict[str, str]) -> None:
        """Add or overwrite tags on a registered version."""
        self._version(model, version)
        with _outside(f"tagging {model} v{version}"):
            for key, value in tags.items():
                self.client.set_model_version_tag(model, str(version), key, value)

    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        """Add metrics to an existing run (e.g. production's scores on the same rows)."""
        with _outside(f"logging metrics on run {run_id}"):
            for key, value in metrics.items():
                self.client.log_metric(run_id, key, value)


def _model_logger(entry: CandidateLog, tmp: Path) -> Callable[[str], str]:
    """How the model is logged into a run (given its id), returning the URI to register. A
    scikit-learn model goes through MLflow's flavor, as it always has (a logged model); any
    other flavor's folder is written here first and logged as the run's plain artifacts."""
    import mlflow
    import mlflow.sklearn

    if flavor_of(entry.fitted) == SKLEARN:
        args = sklearn_args(entry)

        def log_sklearn(run_id: str) -> str:
            with requirements_unchecked():
                return mlflow.sklearn.log_model(entry.fitted, name=ARTIFACT_PATH, **args).model_uri

        return log_sklearn
    folder = tmp / ARTIFACT_PATH
    save_model_folder(entry, folder)

    def log_folder(run_id: str) -> str:
        mlflow.log_artifacts(str(folder), ARTIFACT_PATH)
        return f"runs:/{run_id}/{ARTIFACT_PATH}"

    return log_folder


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


@contextlib.contextmanager
def _environment_kept(*names: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    # MLflow prints "Successfully registered model ..." with print(); keep output ours.
    with contextlib.redirect_stderr(io.StringIO()):
        yield
