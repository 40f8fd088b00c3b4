"""The steps of a pass, each translating the errors it expects into a ReconcileFailure.

Read the pin -> parse it; per model fetch (registry lookup, download, sha256 check) ->
load -> smoke test. Which failures are terminal (the same pin fails the same way until
someone changes it) and which are retryable is decided here, where the error is known:

- PinUnavailable (the reader's outside failure or an OSError): retryable
- InvalidYaml, SchemaViolation: terminal for that pin revision
- UnknownVersion: retryable (the version may be registered after the pin is merged)
- RegistryUnreachable: retryable; DigestMismatch, LoadFailed, SmokeTestFailed: terminal
- RegistryRefused (MLflow refused serving's credentials or a permission): retryable, since
  an operator fixes it outside the pin (a password or a grant) and the next try then works

Nothing here decides when to try again (`pipelines.core.retry`) or writes a status.
"""

from __future__ import annotations

from datetime import datetime

from pipelines.adapters.modelstore import Fetched, ModelStore
from pipelines.adapters.pinreader import PinDocument, PinReader
from pipelines.adapters.yamlfile import parse_yaml, validate
from pipelines.core.errors import AccessRefused, ArtifactMismatch, ConfigError, NotFound, OutsideSystemError
from pipelines.core.schemas import PinnedModel, ProductionPins
from serving.failures import ReconcileFailure, step
from serving.loader import load, smoke_test
from serving.slot import LiveModel


def read_pin(reader: PinReader) -> PinDocument:
    """The pin as the reader sees it now; PinUnavailable when it cannot be read."""
    with step("read the pin"):
        try:
            return reader.read()
        except OutsideSystemError as exc:
            raise ReconcileFailure("PinUnavailable", exc.message, terminal=False) from exc
        except OSError as exc:  # e.g. a connection error the reader did not translate (requests' are OSErrors)
            raise ReconcileFailure(
                "PinUnavailable", f"reading the pin failed: {type(exc).__name__}: {exc}", terminal=False
            ) from exc


def parse_pin(document: PinDocument) -> ProductionPins:
    """The pin's models; InvalidYaml or SchemaViolation (terminal for this revision) naming every problem."""
    with step("parse the pin"):
        try:
            data = parse_yaml(document.text, document.path)
        except ConfigError as exc:
            raise ReconcileFailure("InvalidYaml", _one_line(exc), terminal=True) from exc
        try:
            return validate(data, document.path, schema=ProductionPins)
        except ConfigError as exc:
            raise ReconcileFailure("SchemaViolation", _one_line(exc), terminal=True) from exc


def prepare(store: ModelStore, name: str, *, pin: PinnedModel, now: datetime) -> LiveModel:
    """fetch (digest verified) -> load -> smoke test: a model ready to swap in, or the failing step's failure."""
    with step("fetch", model=name):
        fetched = fetch(store, name, pin=pin)
    with step("load", model=name):
        model = load(
            fetched.path,
            name=name,
            version=pin.version,
            artifact_sha256=pin.artifact_sha256,
            tags=fetched.tags,
            now=now,
        )
    with step("smoke test", model=name):
        smoke_test(model)
    return model


def fetch(store: ModelStore, name: str, *, pin: PinnedModel) -> Fetched:
    """The pinned version's verified folder; UnknownVersion, DigestMismatch, RegistryRefused or RegistryUnreachable."""
    try:
        return store.fetch(name, pin.version, expected_sha256=pin.artifact_sha256)
    except AccessRefused as exc:
        raise ReconcileFailure("RegistryRefused", exc.message, terminal=False) from exc
    except NotFound as exc:
        raise ReconcileFailure("UnknownVersion", exc.message, terminal=False) from exc
    except ArtifactMismatch as exc:
        raise ReconcileFailure("DigestMismatch", exc.message, terminal=True) from exc
    except OutsideSystemError as exc:
        raise ReconcileFailure("RegistryUnreachable", exc.message, terminal=False) from exc


def _one_line(exc: ConfigError) -> str:
    return "; ".join(line.strip(" -") for line in exc.lines())
