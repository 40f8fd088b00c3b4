"""Failures that carry their own reason, and when they are tried again: a real reconciler
on the shared registry with a clock the test moves, and a real uvicorn for the webhook.

The registry is the real one, wrapped to count what serving asks of it and to play an
outage (the outermost edge); the pin is a real file read by FilePinReader.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.adapters.modelstore import ModelStore
from pipelines.adapters.pinreader import FilePinReader
from pipelines.adapters.registry import Registry
from pipelines.core.errors import AccessRefused, OutsideSystemError
from pipelines.core.retry import RETRY_CAP_S
from pipelines.core.signing import sign
from serving.metrics import Metrics
from serving.reconciler import Reconciler
from serving.slot import Slots
from tests.helpers import pin, wait_until, write_yaml
from tests.serving.helpers import MODEL, SECRET, Running, Trained, artifact_folder

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE_S = 10.0


class CountingRegistry:
    """The real registry, counting lookups and downloads; `down` makes it answer like an outage."""

    def __init__(self, registry: Registry) -> None:
        self.registry, self.lookups, self.downloads, self.down, self.refused = registry, 0, 0, False, False

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        self.lookups += 1
        if self.down:
            raise OutsideSystemError("mlflow", "connection refused")
        if self.refused:
            raise AccessRefused(f"MLflow denied reading version {version} of {model} to user mlpin-serving: it "
                                "needs READ permission", ids={"system": "mlflow", "user": "mlpin-serving"})
        return self.registry.version_tags(model, version)

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        self.downloads += 1
        return self.registry.download_version(model, version, dst)


class CountingReader:
    """The real pin file reader, counting reads."""

    def __init__(self, path: Path) -> None:
        self.file, self.reads = FilePinReader(path), 0

    def read(self):
        self.reads += 1
        return self.file.read()


class Harness:
    """A reconciler on a pin file, the counting registry, and a clock that moves only when told."""

    def __init__(self, trained: Trained, tmp_path: Path) -> None:
        self.trained, self.pin_path, self.now = trained, tmp_path / "production.yaml", T0
        self.registry = CountingRegistry(Registry(trained.root))
        self.slots = Slots()
        self.metrics = Metrics(self.slots)
        self.reader = CountingReader(self.pin_path)
        self.reconciler = Reconciler(
            reader=self.reader,
            source_name="file",
            store=ModelStore(self.registry, tmp_path / "cache"),
            slots=self.slots,
            clock=lambda: self.now,
            retry_base_s=BASE_S,
        )
        self.reconciler.failures.append(self.metrics.failed)

    def pin(self, label: str, *, comment: str = "", **changes) -> None:
        write_yaml(self.pin_path, {"schema_version": 1, "models": {MODEL: {**self.trained.entries[label], **changes}}})
        if comment:
            self.pin_path.write_text(self.pin_path.read_text() + f"# {comment}\n")  # a new revision, the same entry

    def run(self, *, after_s: float = 0, manual: bool = False):
        """Move the clock, run one pass; this model's status after it."""
        self.now += timedelta(seconds=after_s)
        self.reconciler.reconcile(manual=manual)
        return self.reconciler.statuses[MODEL]

    def failures(self, reason: str) -> float:
        return (
            self.metrics.registry.get_sample_value("mlpin_reconcile_failures_total", {"model": MODEL, "reason": reason})
            or 0.0
        )


@pytest.fixture
def harness(trained: Trained, tmp_path: Path) -> Harness:
    """A harness already serving v1."""
    ready = Harness(trained, tmp_path)
    ready.pin("v1")
    assert ready.run().live_version == 1
    return ready


def test_an_unexpected_exception_in_load_is_an_internal_error_with_a_logged_ref(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    def buggy_load(*args, **kwargs):
        raise KeyError("a bug in serving, not an outage")

    monkeypatch.setattr("serving.steps.load", buggy_load)
    harness.pin("v2")
    with caplog.at_level(logging.ERROR, logger="mlpin.serving"):
        status = harness.run()
    assert (status.condition, status.reason, status.live_version, status.terminal) == (
        "Stalled",
        "InternalError",
        1,
        False,
    )
    ref = re.fullmatch(r"internal error \(see the serving log, ref ([0-9a-f]{8})\)", status.message).group(1)
    (record,) = [r for r in caplog.records if ref in r.getMessage()]
    assert "step=load" in record.getMessage() and record.exc_info[0] is KeyError
    assert harness.slots.get(MODEL).version == 1  # the last good model keeps serving
    assert harness.failures("InternalError") == 1 and harness.failures("RegistryUnreachable") == 0


def test_a_digest_mismatch_is_verified_once_per_entry_and_tried_again_when_the_entry_changes(harness: Harness) -> None:
    downloads = harness.registry.downloads
    harness.pin("v2", artifact_sha256="f" * 64)
    first = harness.run()
    later = [harness.run(after_s=3600), harness.run(after_s=3600, manual=True), harness.run(after_s=3600)]
    assert (first.reason, first.terminal, first.next_attempt_at) == ("DigestMismatch", True, None)
    assert [(s.condition, s.reason, s.live_version) for s in later] == [("Stalled", "DigestMismatch", 1)] * 3
    assert (harness.registry.downloads, harness.failures("DigestMismatch")) == (downloads + 1, 1)
    harness.pin("v2", artifact_sha256="f" * 64, comment="another commit, the same entry")
    assert harness.run().reason == "DigestMismatch"
    assert harness.registry.downloads == downloads + 1, "an unrelated pin commit does not download again"
    harness.pin("v2")
    assert (harness.run().condition, harness.slots.get(MODEL).version) == ("Ready", 2)


def test_a_registry_outage_backs_off_up_to_the_cap_and_recovers(harness: Harness) -> None:
    harness.registry.down = True
    harness.pin("v2")
    status, waits = harness.run(), []
    for _ in range(8):
        assert (status.condition, status.reason, status.live_version, status.terminal) == (
            "Stalled",
            "RegistryUnreachable",
            1,
            False,
        )
        wait = (status.next_attempt_at - harness.now).total_seconds()
        lookups = harness.registry.lookups
        assert harness.run(after_s=wait - 1) == status, "not tried before its time, and its status unchanged"
        assert harness.registry.lookups == lookups
        waits.append(wait)
        status = harness.run(after_s=1)
    assert waits == [10, 20, 40, 80, 160, 320, RETRY_CAP_S, RETRY_CAP_S]
    assert harness.failures("RegistryUnreachable") == 9
    harness.registry.down = False
    status = harness.run(after_s=(status.next_attempt_at - harness.now).total_seconds())
    assert (status.condition, status.live_version, status.next_attempt_at) == ("Ready", 2, None)


def test_a_refused_registry_is_reported_as_such_and_tried_again(harness: Harness) -> None:
    """MLflow answering 401/403 is neither an outage nor a bug in serving: its own reason, its message."""
    harness.registry.refused = True
    harness.pin("v2")
    status = harness.run()
    assert (status.condition, status.reason, status.live_version, status.terminal) == (
        "Stalled", "RegistryRefused", 1, False)
    assert "user mlpin-serving: it needs READ permission" in status.message
    harness.registry.refused = False
    assert harness.run(manual=True).live_version == 2, "granted, the next try serves it"


def test_a_manual_pass_tries_a_retryable_failure_at_once(harness: Harness) -> None:
    harness.registry.down = True
    harness.pin("v2")
    assert harness.run().reason == "RegistryUnreachable"
    lookups = harness.registry.lookups
    harness.registry.down = False
    assert harness.run(after_s=1).reason == "RegistryUnreachable"
    assert harness.registry.lookups == lookups, "a poll waits out the backoff"
    assert harness.run(manual=True).live_version == 2


def test_an_unreadable_pin_backs_off_and_a_bad_one_is_parsed_once_per_revision(harness: Harness) -> None:
    reads = harness.reader.reads
    good = harness.pin_path.read_text()
    harness.pin_path.unlink()
    harness.run()
    pin_status = harness.reconciler.pin
    assert (pin_status.reason, pin_status.next_attempt_at) == (
        "PinUnavailable",
        harness.now + timedelta(seconds=BASE_S),
    )
    harness.pin_path.write_text(good)
    harness.run(after_s=BASE_S - 1)
    assert (harness.reader.reads - reads, harness.reconciler.pin.reason) == (1, "PinUnavailable")
    harness.run(after_s=1)
    assert (harness.reader.reads - reads, harness.reconciler.pin.reason) == (2, "Synced")
    harness.pin_path.write_text("schema_version: 1\nmodels: [unclosed\n")
    for _ in range(3):
        harness.run(after_s=3600)
    assert (harness.reconciler.pin.reason, harness.reader.reads - reads) == ("InvalidYaml", 5)
    assert (
        harness.metrics.registry.get_sample_value(
            "mlpin_reconcile_failures_total", {"model": "", "reason": "InvalidYaml"}
        )
        == 1
    )


def test_a_signed_push_retries_a_registry_outage_at_once(server_on_v1: Running, trained: Trained) -> None:
    # The server polls every 300 s, so its backoff starts at 240 s: only the push's manual pass can load v2 now.
    folder = artifact_folder(trained.root, trained.entries["v2"]["artifact_sha256"])
    hidden = folder.with_name(folder.name + ".away")
    folder.rename(hidden)
    try:
        pin(trained.root, **{MODEL: trained.entries["v2"]})
        assert server_on_v1.reconcile()["models"][0]["reason"] == "RegistryUnreachable"
    finally:
        hidden.rename(folder)
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    response = server_on_v1.client.post(
        "/webhook", content=body, headers={"x-github-event": "push", "x-hub-signature-256": sign(SECRET, body)}
    )
    assert response.status_code == 202
    wait_until(lambda: server_on_v1.model_status()["live_version"] == 2, timeout=10)


def test_running_out_of_file_handles_while_loading_is_retried_not_terminal(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import serving.loader

    real = serving.loader.load_folder
    calls = []

    def exhausted_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(24, "Too many open files")
        return real(*args, **kwargs)

    monkeypatch.setattr(serving.loader, "load_folder", exhausted_once)
    harness.pin("v2")
    status = harness.run()
    assert (status.reason, status.terminal, status.live_version) == ("InternalError", False, 1)
    assert harness.run(manual=True).live_version == 2, "the machine recovered: the same entry loads"


def test_the_log_tells_each_change_once_and_a_pass_that_changes_nothing_not_at_all(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    def told(after_s: float = 0) -> list[tuple]:
        caplog.clear()
        harness.now += timedelta(seconds=after_s)
        harness.reconciler.reconcile()
        return [(r.event, r.levelname, r.fields.get("reason") or r.fields.get("after")) for r in caplog.records
                if r.levelno >= logging.INFO and getattr(r, "event", None)]

    caplog.set_level(logging.DEBUG, logger="mlpin.serving")
    harness.pin("v2", artifact_sha256="f" * 64)
    assert told() == [("pin", "INFO", None), ("stalled", "WARNING", "DigestMismatch")]
    assert told(after_s=3600) == []  # terminal: not tried again, nothing to say
    assert [r.event for r in caplog.records] == ["pass"] and caplog.records[0].levelname == "DEBUG"
    harness.pin("v1", comment="back to what is live")
    assert told() == [("pin", "INFO", None), ("recovered", "INFO", "DigestMismatch")]
    good = harness.pin_path.read_text()
    harness.pin_path.unlink()
    assert told() == [("pin", "WARNING", "PinUnavailable")]
    harness.pin_path.write_text(good)
    assert told(after_s=BASE_S) == [("pin", "INFO", "PinUnavailable")]  # read again, the same revision
    write_yaml(harness.pin_path, {"schema_version": 1, "models": {}})
    assert told() == [("pin", "INFO", None), ("removed", "INFO", None)]
    assert caplog.records[-2].fields == {"model": MODEL, "version": 1}  # the last is the debug `pass`


def test_an_operator_can_retry_a_terminal_failure_after_restoring_the_artifact(harness: Harness,
                                                                              trained: Trained) -> None:
    pickled = next(artifact_folder(trained.root, trained.entries["v2"]["artifact_sha256"]).glob("*.skops"))
    original = pickled.read_bytes()
    try:
        pickled.write_bytes(b"replaced in the store")
        harness.pin("v2")
        assert (harness.run().reason, harness.run(manual=True).terminal) == ("DigestMismatch", True)
    finally:
        pickled.write_bytes(original)  # restored, the pin unchanged
    assert harness.run(manual=True).reason == "DigestMismatch", "a manual pass alone keeps waiting for a new pin"
    harness.reconciler.reconcile(manual=True, retry_terminal=True)
    assert (harness.reconciler.statuses[MODEL].condition, harness.slots.get(MODEL).version) == ("Ready", 2)
