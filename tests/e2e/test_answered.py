"""`mlpin history --at T --logs DIR` against what a real serving process answered.

A promotion and a revert play out in a repository on real MLflow: pin commit, deploy,
serving's swap, each a moment apart. Requests are sent to a real uvicorn in every
window between them (pinned but not deployed, deployed but not swapped, all agreed),
and each request serving logged is then looked up at its own logged time: history must
name the version that answered it, and say where the pin and the deployment disagreed.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from pipelines.adapters.logsink import read_records
from pipelines.cli import main
from pipelines.stages.train import train
from tests.helpers import ctx, edit_yaml, entry, git, pin
from tests.serving.helpers import MODEL, ROW, Running, Trained, serving, settings_for

TICK_S = 1.1  # git and the forge keep whole seconds: let each step land in a later second


class Scene:
    """The repository, the running server and the requests sent, by phase."""

    def __init__(self, repo: Path, running: Running, capsys: pytest.CaptureFixture) -> None:
        self.repo, self.running, self.capsys = repo, running, capsys
        self.sent: dict[str, str] = {}  # request id -> phase

    def mlpin(self, *args: str) -> tuple[int, dict]:
        self.capsys.readouterr()
        code = main([*args, "--repo", str(self.repo), "--json", "--quiet"])
        return code, json.loads(self.capsys.readouterr().out)

    def step(self, action) -> None:
        """One change of the world, in a second of its own."""
        time.sleep(TICK_S)
        action()
        time.sleep(TICK_S)

    def deploy(self) -> None:
        code, run = self.mlpin("deploy")
        assert code == 0 and run["deployment_state"] == "success", run

    def swap(self, version: int) -> None:
        (status,) = self.running.reconcile()["models"]
        assert status["live_version"] == version, status

    def requests(self, phase: str, count: int = 2) -> None:
        for _ in range(count):
            response = self.running.client.post(f"/predict/{MODEL}", json=ROW)
            assert response.status_code == 200, response.text
            self.sent[response.json()["request_id"]] = phase


def test_history_names_the_version_that_answered_each_logged_request(repo: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    v1, v2 = (_train(repo, c) for c in (1.0, 0.05))
    pin(repo, **{MODEL: v1})
    log_dir = tmp_path / "predictions"
    with serving(settings_for(Trained(root=repo, entries={}), tmp_path, log_dir=log_dir)) as running:
        scene = Scene(repo, running, capsys)
        scene.deploy()
        scene.swap(v1["version"])
        scene.requests("v1 everywhere")
        scene.step(lambda: pin(repo, **{MODEL: v2}))
        scene.requests("v2 pinned, not deployed")
        scene.step(scene.deploy)
        scene.requests("v2 deployed, serving not swapped")
        scene.swap(v2["version"])
        scene.requests("v2 everywhere")
        scene.step(lambda: git(repo, "revert", "--no-edit", "HEAD"))
        scene.requests("v1 pinned again, not deployed")
        scene.step(scene.deploy)
        scene.swap(v1["version"])
        scene.requests("v1 everywhere again")

    logged = read_records(log_dir)
    assert sorted(r["request_id"] for r in logged) == sorted(scene.sent), "serving logged every request"
    seen = {}
    for record in logged:
        code, found = scene.mlpin("history", MODEL, "--at", record["timestamp"], "--logs", str(log_dir))
        assert code == 0
        answered = found["at_answered"]["before"]
        assert (answered["request_id"], answered["version"]) == (record["request_id"], record["version"])
        pinned, deployed = found["at_event"]["version"], found["at_deployed"]["live"]
        seen.setdefault(scene.sent[record["request_id"]], set()).add(
            (pinned, deployed, record["version"], bool(found["disagreements"])))
    one, two = v1["version"], v2["version"]
    assert seen == {
        "v1 everywhere": {(one, one, one, False)},
        "v2 pinned, not deployed": {(two, one, one, True)},
        "v2 deployed, serving not swapped": {(two, two, one, True)},
        "v2 everywhere": {(two, two, two, False)},
        "v1 pinned again, not deployed": {(one, two, two, True)},
        "v1 everywhere again": {(one, one, one, False)},
    }

    # between two phases: the request before answered, the one after is named, a swap is seen
    ordered = sorted(logged, key=lambda r: r["timestamp"])
    for before, after in zip(ordered, ordered[1:], strict=False):
        if scene.sent[before["request_id"]] == scene.sent[after["request_id"]]:
            continue
        middle = _midpoint(before["timestamp"], after["timestamp"])
        code, found = scene.mlpin("history", MODEL, "--at", middle, "--logs", str(log_dir))
        around = found["at_answered"]
        assert (around["before"]["request_id"], around["after"]["request_id"]) == (before["request_id"],
                                                                                   after["request_id"])
        assert (around["before"]["version"], around["after"]["version"]) == (before["version"], after["version"])


def _midpoint(first: str, second: str) -> str:
    start, end = datetime.fromisoformat(first), datetime.fromisoformat(second)
    return (start + (end - start) / 2).isoformat()


def _train(repo: Path, c: float) -> dict:
    edit_yaml(repo / f"models/{MODEL}.yaml", estimator={"kind": "logistic_regression", "params": {"C": c}})
    trained = entry(train(ctx(repo), MODEL))
    git(repo, "checkout", "--", "models")
    return trained
