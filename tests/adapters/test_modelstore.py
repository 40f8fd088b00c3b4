"""The model cache: download once per digest, verify on every fetch, serve verified
versions through a registry outage, and name MLflow as the failing system when it
cannot be reached. Cache behaviour runs against the in-memory registry (the contract
suite holds MLflow to the same downloads); the outage runs against real MLflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.modelregistry import LoggedVersion
from pipelines.adapters.modelstore import ModelStore
from pipelines.adapters.registry import Registry
from pipelines.core.errors import ArtifactMismatch, NotFound, OutsideSystemError
from tests.fakes.registry import MemoryRegistry, sample_candidate

MODEL = "wine_logreg"


class CountingRegistry:
    """A registry, counting downloads."""

    def __init__(self, registry: MemoryRegistry) -> None:
        self.registry = registry
        self.downloads = 0

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        return self.registry.version_tags(model, version)

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        self.downloads += 1
        return self.registry.download_version(model, version, dst)


@pytest.fixture
def registry(tmp_path: Path) -> MemoryRegistry:
    return MemoryRegistry(tmp_path / "registry")


@pytest.fixture
def trained(registry: MemoryRegistry) -> LoggedVersion:
    return registry.log_candidate(sample_candidate(MODEL))


def test_downloads_once_per_digest_and_verifies_every_fetch(registry, tmp_path: Path, trained) -> None:
    counting = CountingRegistry(registry)
    store = ModelStore(counting, tmp_path / "cache")
    first = store.fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
    second = store.fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
    assert first.path == second.path == tmp_path / "cache" / trained.artifact_sha256
    assert counting.downloads == 1
    assert first.tags["mlpin.task"] == "classification"
    (first.path / "model.skops").write_bytes(b"tampered in the cache")
    # A copy that went bad on disk is dropped and fetched again: the registry's bytes are fine.
    third = store.fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
    assert counting.downloads == 2 and (third.path / "model.skops").read_bytes() != b"tampered in the cache"
    # Bytes the registry itself serves wrong are a mismatch, and are not kept.
    (registry.artifact_path(MODEL, 1) / "model.skops").write_bytes(b"tampered in the registry")
    (third.path / "model.skops").write_bytes(b"tampered in the cache")
    with pytest.raises(ArtifactMismatch):
        store.fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
    assert not third.path.exists() and counting.downloads == 3


def test_a_wrong_digest_never_enters_the_cache(registry, tmp_path: Path, trained) -> None:
    with pytest.raises(ArtifactMismatch):
        ModelStore(registry, tmp_path / "cache").fetch(MODEL, 1, expected_sha256="0" * 64)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []


def test_a_pin_pairing_a_version_with_another_versions_digest_is_refused(registry, tmp_path: Path, trained) -> None:
    candidate = sample_candidate(MODEL)
    candidate.fitted.set_params(C=0.5)  # other pickled bytes
    other = registry.log_candidate(candidate)
    assert other.artifact_sha256 != trained.artifact_sha256
    counting = CountingRegistry(registry)
    store = ModelStore(counting, tmp_path / "cache")
    store.fetch(MODEL, 2, expected_sha256=other.artifact_sha256)  # v2's bytes are now cached under their digest
    with pytest.raises(ArtifactMismatch) as refused:  # v1 labelled with v2's digest: never v2's bytes as v1
        store.fetch(MODEL, 1, expected_sha256=other.artifact_sha256)
    assert (refused.value.version, refused.value.ids["actual_sha256"]) == (1, trained.artifact_sha256)
    assert store.fetch(MODEL, 2, expected_sha256=other.artifact_sha256).path.is_dir()  # v2 itself still cached
    with pytest.raises(ArtifactMismatch):  # and the refusal is not remembered as a verified pairing
        store.fetch(MODEL, 1, expected_sha256=other.artifact_sha256)


def test_unknown_version_is_not_found(registry, tmp_path: Path, trained) -> None:
    with pytest.raises(NotFound, match="no registered version 7"):
        ModelStore(registry, tmp_path / "cache").fetch(MODEL, 7, expected_sha256="0" * 64)
    assert not (tmp_path / "cache").exists()


def test_an_unreachable_tracking_server_is_an_outside_failure(tmp_path: Path, monkeypatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(OutsideSystemError, match="mlflow"):
        ModelStore(Registry(tmp_path), tmp_path / "cache").fetch(MODEL, 1, expected_sha256="0" * 64)


class Outage:
    """A registry that cannot be reached at all."""

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        raise OutsideSystemError("mlflow", "connection refused")

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        raise OutsideSystemError("mlflow", "connection refused")


def test_a_verified_version_is_served_from_the_cache_during_a_registry_outage(
    registry, tmp_path: Path, trained
) -> None:
    ModelStore(registry, tmp_path / "cache").fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
    during = ModelStore(Outage(), tmp_path / "cache")  # e.g. the process restarted while MLflow is down
    fetched = during.fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
    assert fetched.tags["mlpin.task"] == "classification"
    with pytest.raises(OutsideSystemError):  # the same bytes under another version: the registry must say so
        during.fetch(MODEL, 2, expected_sha256=trained.artifact_sha256)
    (fetched.path / "model.skops").write_bytes(b"tampered in the cache")
    with pytest.raises(OutsideSystemError):  # the cache is trusted for tags, never for bytes: download again
        during.fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
    assert not fetched.path.exists(), "bytes that fail their digest are not kept"


class RacingRegistry(CountingRegistry):
    """Every download waits until all `parties` have downloaded: stores sharing one cache
    (worker processes of one host) all find it empty and all place a folder."""

    def __init__(self, registry: MemoryRegistry, parties: int) -> None:
        import threading

        super().__init__(registry)
        self.barrier = threading.Barrier(parties, timeout=30)

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        local = super().download_version(model, version, dst)
        self.barrier.wait()
        return local


def test_stores_sharing_a_cache_download_at_once_and_all_get_the_verified_folder(
        registry, tmp_path: Path, trained) -> None:
    from concurrent.futures import ThreadPoolExecutor

    racing = RacingRegistry(registry, parties=3)
    stores = [ModelStore(racing, tmp_path / "cache") for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        fetched = list(pool.map(lambda s: s.fetch(MODEL, 1, expected_sha256=trained.artifact_sha256), stores))
    assert racing.downloads == 3, "each found the cache empty"
    assert {f.path for f in fetched} == {tmp_path / "cache" / trained.artifact_sha256}
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()) == [trained.artifact_sha256], \
        "one folder; the losers' downloads are gone"
    again = ModelStore(CountingRegistry(registry), tmp_path / "cache")
    assert again.fetch(MODEL, 1, expected_sha256=trained.artifact_sha256).path == fetched[0].path


def test_a_slow_worker_never_discards_the_good_folder_another_placed(registry, tmp_path: Path, trained,
                                                                    monkeypatch) -> None:
    """Worker A hashes a cached copy that went bad; meanwhile worker B replaces it with a good download.
    A drops only the folder it hashed: B's stays, and A serves it."""
    import pipelines.adapters.modelstore as modelstore

    cache = tmp_path / "cache"
    good = ModelStore(registry, cache).fetch(MODEL, 1, expected_sha256=trained.artifact_sha256).path
    (good / "model.skops").write_bytes(b"went bad on disk")
    real_digest, placed_by_b = modelstore.artifact_digest, []

    def slow_hash_while_b_replaces(folder: Path) -> str:
        digest = real_digest(folder)  # A's verdict on the bad copy
        monkeypatch.setattr(modelstore, "artifact_digest", real_digest)
        folder.rename(tmp_path / "bad")  # B: drops the bad copy and places a good one
        ModelStore(registry, cache).fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
        placed_by_b.append(folder.stat().st_ino)
        return digest

    monkeypatch.setattr(modelstore, "artifact_digest", slow_hash_while_b_replaces)
    fetched = ModelStore(registry, cache).fetch(MODEL, 1, expected_sha256=trained.artifact_sha256)
    assert (fetched.path / "model.skops").read_bytes() != b"went bad on disk"
    assert fetched.path.stat().st_ino == placed_by_b[0], "A discarded the good folder B had just placed"
