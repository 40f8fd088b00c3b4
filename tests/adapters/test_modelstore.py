"""The model cache against real MLflow: download once per digest, verify on every fetch,
and name the registry as the failing system when it cannot be reached."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.modelstore import ModelStore
from pipelines.adapters.registry import Registry
from pipelines.core.errors import ArtifactMismatch, NotFound, OutsideSystemError
from pipelines.stages.train import train
from tests.helpers import ctx


class CountingRegistry:
    """The real registry, counting downloads."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.downloads = 0

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        return self.registry.version_tags(model, version)

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        self.downloads += 1
        return self.registry.download_version(model, version, dst)


@pytest.fixture
def trained(repo: Path):
    return train(ctx(repo), "wine_logreg")


def test_downloads_once_per_digest_and_verifies_every_fetch(repo: Path, tmp_path: Path, trained) -> None:
    registry = CountingRegistry(Registry(repo))
    store = ModelStore(registry, tmp_path / "cache")
    first = store.fetch("wine_logreg", 1, expected_sha256=trained.artifact_sha256)
    second = store.fetch("wine_logreg", 1, expected_sha256=trained.artifact_sha256)
    assert first.path == second.path == tmp_path / "cache" / trained.artifact_sha256
    assert registry.downloads == 1
    assert first.tags["mlpin.task"] == "classification"
    (first.path / "model.pkl").write_bytes(b"tampered in the cache")
    with pytest.raises(ArtifactMismatch):
        store.fetch("wine_logreg", 1, expected_sha256=trained.artifact_sha256)
    assert not first.path.exists()  # bad bytes are not kept; the next fetch downloads again
    store.fetch("wine_logreg", 1, expected_sha256=trained.artifact_sha256)
    assert registry.downloads == 2


def test_a_wrong_digest_never_enters_the_cache(repo: Path, tmp_path: Path, trained) -> None:
    with pytest.raises(ArtifactMismatch):
        ModelStore(Registry(repo), tmp_path / "cache").fetch("wine_logreg", 1, expected_sha256="0" * 64)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []


def test_unknown_version_is_not_found(repo: Path, tmp_path: Path, trained) -> None:
    with pytest.raises(NotFound, match="no registered version 7"):
        ModelStore(Registry(repo), tmp_path / "cache").fetch("wine_logreg", 7, expected_sha256="0" * 64)


def test_an_unreachable_tracking_server_is_an_outside_failure(repo: Path, tmp_path: Path, monkeypatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(OutsideSystemError, match="mlflow"):
        ModelStore(Registry(repo), tmp_path / "cache").fetch("wine_logreg", 1, expected_sha256="0" * 64)


class Outage:
    """A registry that cannot be reached at all."""

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        raise OutsideSystemError("mlflow", "connection refused")

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        raise OutsideSystemError("mlflow", "connection refused")


def test_a_verified_version_is_served_from_the_cache_during_a_registry_outage(repo: Path, tmp_path: Path, trained) -> None:
    ModelStore(Registry(repo), tmp_path / "cache").fetch("wine_logreg", 1, expected_sha256=trained.artifact_sha256)
    during = ModelStore(Outage(), tmp_path / "cache")  # e.g. the process restarted while MLflow is down
    fetched = during.fetch("wine_logreg", 1, expected_sha256=trained.artifact_sha256)
    assert fetched.tags["mlpin.task"] == "classification"
    with pytest.raises(OutsideSystemError):  # the same bytes under another version: the registry must say so
        during.fetch("wine_logreg", 2, expected_sha256=trained.artifact_sha256)
    (fetched.path / "model.pkl").write_bytes(b"tampered in the cache")
    with pytest.raises(ArtifactMismatch):  # the cache is trusted for tags, never for bytes
        during.fetch("wine_logreg", 1, expected_sha256=trained.artifact_sha256)
