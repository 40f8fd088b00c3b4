"""The reconciler through a real uvicorn: cold start, and every failure kind keeping the
last good model serving until the pin (or the registry) is fixed, without a restart."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import git, pin, wait_until
from tests.serving.helpers import MODEL, ROW, Running, Trained, artifact_folder, serving, settings_for


def test_cold_start_serves_the_pinned_version(server_on_v1: Running, trained: Trained) -> None:
    client = server_on_v1.client
    answer = client.post(f"/predict/{MODEL}", json=ROW).json()
    assert (answer["model"], answer["version"], len(answer["predictions"])) == (MODEL, 1, 1)
    status = client.get("/status").json()
    assert status["pin"]["revision"] == git(trained.root, "rev-parse", "HEAD")
    (model,) = status["models"]
    assert {k: model[k] for k in ("condition", "reason", "desired_version", "live_version")} == \
        {"condition": "Ready", "reason": "Synced", "desired_version": 1, "live_version": 1}
    assert model["pin_revision"] == status["pin"]["revision"] and model["last_transition_time"]
    (listed,) = client.get("/models").json()
    assert (listed["name"], listed["version"], listed["task"]) == (MODEL, 1, "classification")
    alcohol = {"name": "alcohol", "type": "double", "required": True, "nullable": False, "values": None,
               "allow_unseen": False}
    assert alcohol in listed["inputs"]


def _entry(label: str, **changes) -> Callable[[Trained], dict]:
    return lambda trained: {"models": {MODEL: {**trained.entries[label], **changes}}}


def _moved_artifacts(trained: Trained) -> Callable[[], None]:
    """Make v2's stored artifact unreachable; returns how to bring it back."""
    folder = artifact_folder(trained.root, trained.entries["v2"]["artifact_sha256"])
    hidden = folder.with_name(folder.name + ".away")
    folder.rename(hidden)
    return lambda: hidden.rename(folder)


FAILURES = [
    ("InvalidYaml", lambda t: "schema_version: 1\nmodels:\n  wine_logreg: [unclosed\n"),
    ("SchemaViolation", lambda t: {"models": {MODEL: {**t.entries["v2"], "versoin": 2}}}),
    ("UnknownVersion", _entry("v2", version=99)),
    ("DigestMismatch", _entry("v2", artifact_sha256="f" * 64)),
    ("LoadFailed", _entry("broken")),
    ("SmokeTestFailed", _entry("smoke")),
    ("RegistryUnreachable", _entry("v2")),
]


@pytest.mark.parametrize(("reason", "bad_pin"), FAILURES, ids=[reason for reason, _ in FAILURES])
def test_a_failure_keeps_the_last_good_model_and_the_next_pass_recovers(
    server_on_v1: Running, trained: Trained, reason: str, bad_pin
) -> None:
    restore = _moved_artifacts(trained) if reason == "RegistryUnreachable" else None
    try:
        _pin_raw(trained.root, bad_pin(trained))
        server_on_v1.reconcile()
        status = server_on_v1.model_status()
        assert (status["condition"], status["reason"], status["live_version"]) == ("Stalled", reason, 1), status
        assert status["message"]
        assert server_on_v1.client.post(f"/predict/{MODEL}", json=ROW).json()["version"] == 1
        assert server_on_v1.client.get("/readyz").status_code == 200  # still answering on v1
        failed_model = "" if reason in ("InvalidYaml", "SchemaViolation") else MODEL
        assert (
            f'mlpin_reconcile_failures_total{{model="{failed_model}",reason="{reason}"}} 1.0'
            in server_on_v1.client.get("/metrics").text
        )
    finally:
        if restore:
            restore()
    if restore is None:
        pin(trained.root, **{MODEL: trained.entries["v2"]})
    server_on_v1.reconcile()
    status = server_on_v1.model_status()
    assert (status["condition"], status["reason"], status["live_version"]) == ("Ready", "Synced", 2), status
    assert server_on_v1.client.post(f"/predict/{MODEL}", json=ROW).json()["version"] == 2


def _pin_raw(root: Path, doc: dict | str) -> None:
    import yaml

    pin(root, text=doc if isinstance(doc, str) else yaml.safe_dump({"schema_version": 1, **doc}))


def test_a_bad_pin_before_anything_loaded_is_not_ready_then_recovers(trained: Trained, tmp_path: Path) -> None:
    _pin_raw(trained.root, _entry("v2", artifact_sha256="f" * 64)(trained))
    with serving(settings_for(trained, tmp_path)) as running:
        wait_until(lambda: running.client.get("/status").json()["models"])
        wait_until(lambda: running.model_status()["condition"] == "Stalled")
        assert running.client.get("/readyz").json() == {"ready": False, "not_ready": [MODEL]}
        assert running.client.post(f"/predict/{MODEL}", json=ROW).status_code == 503
        pin(trained.root, **{MODEL: trained.entries["v2"]})
        running.reconcile()
        assert running.client.get("/readyz").status_code == 200


def test_suspend_freezes_the_live_version_and_unpinning_removes_it(server_on_v1: Running, trained: Trained) -> None:
    pin(trained.root, **{MODEL: {**trained.entries["v2"], "suspend": True}})
    server_on_v1.reconcile()
    status = server_on_v1.model_status()
    assert (status["reason"], status["desired_version"], status["live_version"], status["suspended"]) == (
        "Suspended",
        2,
        1,
        True,
    )
    assert server_on_v1.client.post(f"/predict/{MODEL}", json=ROW).json()["version"] == 1
    pin(trained.root)
    assert server_on_v1.reconcile()["models"] == []
    assert server_on_v1.client.post(f"/predict/{MODEL}", json=ROW).status_code == 404


def test_an_unreachable_pin_source_keeps_serving(trained: Trained, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    shutil.copytree(trained.root / ".git", remote / ".git")
    git(remote, "checkout", "-q", "-f", "main")
    pin(remote, **{MODEL: trained.entries["v1"]})
    with serving(settings_for(trained, tmp_path, pin_uri=str(remote))) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        shutil.rmtree(remote)
        status = running.reconcile()
        assert (status["pin"]["condition"], status["pin"]["reason"]) == ("Stalled", "PinUnavailable")
        assert running.model_status()["reason"] == "PinUnavailable"
        assert running.client.post(f"/predict/{MODEL}", json=ROW).json()["version"] == 1


def test_several_models_are_served_by_name(server_on_v1: Running, trained: Trained) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"], "diabetes_hgb": trained.entries["diabetes"]})
    assert [m["condition"] for m in server_on_v1.reconcile()["models"]] == ["Ready", "Ready"]
    client = server_on_v1.client
    patient = {
        "age": 50.0,
        "sex": "2",
        "bmi": 30.1,
        "bp": 90.0,
        "s1": 200.0,
        "s2": 120.0,
        "s3": 40.0,
        "s4": 5.0,
        "s5": 4.9,
        "s6": 95.0,
    }
    answer = client.post("/predict/diabetes_hgb", json=[patient, {**patient, "sex": "1"}]).json()
    assert answer["model"] == "diabetes_hgb" and all(isinstance(v, float) for v in answer["predictions"])
    assert client.post("/predict/diabetes_hgb", json={**patient, "sex": 2}).status_code == 422  # a category is text
    assert client.post(f"/predict/{MODEL}", json=ROW).json()["model"] == MODEL
    assert client.post("/invocations", json={"inputs": [patient]}).status_code == 400  # which model?
    assert (
        client.post("/invocations?model=diabetes_hgb", json={"inputs": [patient]}).headers["x-model-name"]
        == "diabetes_hgb"
    )
    assert sorted((m["name"], m["task"]) for m in client.get("/models").json()) == [
        ("diabetes_hgb", "regression"),
        (MODEL, "classification"),
    ]


def test_a_pin_read_through_the_github_contents_api(trained: Trained, tmp_path: Path) -> None:
    import yaml

    from tests.fakes.github_api import FakeGitHubWithFiles

    def pinned(label: str) -> str:
        return yaml.safe_dump({"schema_version": 1, "models": {MODEL: trained.entries[label]}})

    github = FakeGitHubWithFiles(
        branches={"main": "1" * 40}, files={("1" * 40, "models/production.yaml"): pinned("v1")}
    ).start()
    settings = settings_for(
        trained,
        tmp_path,
        pin_source="github",
        pin_uri=github.repository,
        github_api_url=github.base_url,
        github_token=github.token,
    )
    try:
        with serving(settings) as running:
            wait_until(lambda: running.client.get("/readyz").status_code == 200)
            github.branches["main"] = "2" * 40
            github.files[("2" * 40, "models/production.yaml")] = pinned("v2")
            status = running.reconcile()
            assert (status["pin"]["revision"], status["models"][0]["live_version"]) == ("2" * 40, 2)
            assert status["pin"]["source"] == f"github {github.repository}@main:models/production.yaml"
    finally:
        github.stop()


def test_an_edited_mlmodel_is_refused_before_anything_is_unpickled(server_on_v1: Running, trained: Trained) -> None:
    # MLmodel names the file to unpickle: pointing it elsewhere must break the digest.
    mlmodel = artifact_folder(trained.root, trained.entries["v2"]["artifact_sha256"]) / "MLmodel"
    original = mlmodel.read_text()
    mlmodel.write_text(original.replace("pickled_model: model.skops", "pickled_model: ../../elsewhere.pkl"))
    try:
        pin(trained.root, **{MODEL: trained.entries["v2"]})
        server_on_v1.reconcile()
        status = server_on_v1.model_status()
        assert (status["condition"], status["reason"], status["live_version"]) == ("Stalled", "DigestMismatch", 1), (
            status
        )
    finally:
        mlmodel.write_text(original)


def test_unpinning_a_model_that_never_went_live_makes_the_service_ready(trained: Trained, tmp_path: Path) -> None:
    _pin_raw(trained.root, _entry("v2", artifact_sha256="f" * 64)(trained))
    with serving(settings_for(trained, tmp_path)) as running:
        wait_until(lambda: running.client.get("/status").json()["models"])
        pin(trained.root)
        assert running.reconcile()["models"] == []
        assert running.client.get("/readyz").status_code == 200
        assert running.client.post(f"/predict/{MODEL}", json=ROW).status_code == 404


@pytest.mark.parametrize(
    ("raised", "reason", "message"),
    [
        ("connection", "PinUnavailable", "ConnectionError: connection refused"),
        ("bug", "InternalError", "internal error (see the serving log, ref "),
    ],
    ids=["untranslated-connection-error", "bug-in-the-reader"],
)
def test_a_reader_that_raises_something_unexpected(raised: str, reason: str, message: str) -> None:
    # A connection error (an OSError) is the pin being unavailable; anything else is a bug, never an outage.
    import requests

    from serving.reconciler import Reconciler
    from serving.slot import Slots

    class Unreachable:
        def read(self):
            raise requests.ConnectionError("connection refused") if raised == "connection" else TypeError("a bug")

    reconciler = Reconciler(reader=Unreachable(), source_name="github acme/models", store=None, slots=Slots())
    reconciler.reconcile()
    assert (reconciler.pin.condition, reconciler.pin.reason) == ("Stalled", reason)
    assert message in reconciler.pin.message
