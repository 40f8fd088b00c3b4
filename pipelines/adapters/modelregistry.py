"""The model registry port: what mlpin's stages and serving need from the store of
model bytes, metrics and lineage, and the values that cross it.

Two implementations pass one contract suite (`tests/adapters/test_registry_contract.py`):
MLflow (`pipelines.adapters.registry.Registry`) and an in-memory fake
(`tests.fakes.registry.MemoryRegistry`). The registry stores and finds; it never
decides and never leads: Git holds desired state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pipelines.core.inputs import InputColumn

# Where `CandidateLog.extras` are stored with the run, as JSON.
EXTRAS_PATH = "evaluation/{name}.json"


@dataclass(frozen=True)
class CandidateLog:
    """Everything one training run records."""

    model: str
    fitted: Any
    inputs: list[InputColumn]  # the signature, with what the data contract adds (stored in MLmodel metadata)
    output_type: str  # "string" | "double"
    example: Any
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedVersion:
    """A registered model version and how to find it again."""

    model: str
    version: int
    run_id: str
    artifact_sha256: str
    tracking_uri: str


@runtime_checkable
class ModelRegistry(Protocol):
    """What mlpin needs from a model registry. Writes are idempotent: the same tag or
    alias twice is a no-op. An unknown version is NotFound; other misuse (an unknown
    run, an alias on an unknown version) raises an MlpinError."""

    uri: str

    def log_candidate(self, entry: CandidateLog) -> LoggedVersion:
        """Record a run (params, metrics, extras) and register its model as the model's next
        version (1, 2, ...), tagged with `entry.tags` and the artifact digest."""

    def artifact_digest_of(self, entry: CandidateLog) -> str:
        """The artifact digest `log_candidate(entry)` would record, writing nothing anywhere:
        what a job without write access (a pull request's) reports, and what the trusted
        rebuild after the merge is compared with."""

    def log_check(self, model: str, *, name: str, metrics: dict[str, float], tags: dict[str, str],
                  texts: dict[str, str]) -> str:
        """Record a run that registers nothing (a drift check of a live version) in the model's
        experiment: its metrics, tags and text files; returns its run id."""

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        """The tags of a registered version; NotFound when it does not exist."""

    def tag_version(self, model: str, version: int, tags: dict[str, str]) -> None:
        """Add or overwrite tags on a version (values stored as strings); NotFound when it does not exist."""

    def run_id(self, model: str, version: int) -> str:
        """The run that produced a registered version; NotFound when it does not exist."""

    def run_metrics(self, run_id: str) -> dict[str, float]:
        """The latest value of every metric of a run."""

    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        """Add metrics to a run; the ones it has stay."""

    def log_text(self, run_id: str, text: str, path: str) -> None:
        """Store a text file at `path` with a run, replacing one already there."""

    def read_text(self, run_id: str, path: str) -> str | None:
        """A text file stored with a run; None when there is none."""

    def newest_version(self, model: str, *, spec_hash: str, with_tag: str | None = None) -> int | None:
        """The highest version trained from `spec_hash` (and carrying tag `with_tag`); None when there is none."""

    def alias_version(self, model: str, alias: str) -> int | None:
        """The version an alias points at; None when the alias or the model does not exist."""

    def models_with_alias(self, alias: str) -> dict[str, int]:
        """Every model that has `alias`, and the version it points at."""

    def set_alias(self, model: str, alias: str, version: int) -> None:
        """Point `alias` of `model` at `version`, moving it from wherever it was."""

    def delete_alias(self, model: str, alias: str) -> None:
        """Remove `alias` from a registered model; a no-op when the model has no such alias."""

    def version_digest(self, model: str, version: int) -> str:
        """The artifact digest of a version's folder as stored (nothing unpickled); NotFound when it does not exist."""

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        """A version's folder (MLmodel at its top) downloaded into `dst`, unpickled by nobody;
        NotFound when it does not exist."""

    def load_verified(self, model: str, version: int, *, expected_sha256: str) -> Any:
        """The version's model, unpickled only once its digest equals `expected_sha256` (else ArtifactMismatch)."""
