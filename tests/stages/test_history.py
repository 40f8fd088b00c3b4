"""`history` over what others wrote: deployment records another tool (or a broken deploy)
left in the shared `production` environment, and serving's log of several models, at
times the test sets: pins committed at set times, deployments recorded at set times on
the local forge, requests logged by the real log writer with set timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.adapters.localforge import LocalForge
from pipelines.adapters.logsink import PredictionLog
from pipelines.console import render_history
from pipelines.core.deployment import DeploymentState
from pipelines.stages.history import history
from tests.helpers import ctx, git, pin
from tests.stages.helpers import MODEL


def hour(h: int, m: int = 0) -> datetime:
    return datetime(2026, 3, 2, h, m, tzinfo=UTC)


def entry(version: int) -> dict:
    return {"version": version, "run_id": f"run-{version}", "artifact_sha256": "a" * 64, "spec_hash": "b" * 64,
            "data_sha256": "c" * 64}


class World:
    """Pins, deployments and logged requests, each at a time the test names."""

    def __init__(self, repo: Path, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.repo, self.logs, self.monkeypatch = repo, logs, monkeypatch
        self.forge = LocalForge(repo)

    def pin(self, when: datetime, version: int) -> None:
        self.monkeypatch.setenv("GIT_COMMITTER_DATE", when.isoformat())
        pin(self.repo, **{MODEL: entry(version)})
        self.monkeypatch.delenv("GIT_COMMITTER_DATE")

    def deployment(self, when: datetime, payload: dict, *, state: DeploymentState = "success") -> None:
        """A deployment of HEAD recorded at `when`, as deploy or another tool would record it."""
        self.monkeypatch.setattr("pipelines.adapters.localforge.now_iso", lambda: when.isoformat())
        self.forge.record_deployment(sha=git(self.repo, "rev-parse", "HEAD"), environment="production",
                                     description="d", payload=payload, state=state)

    def deployed(self, when: datetime, version: int) -> None:
        self.deployment(when, {"pr": None, "models": {MODEL: {"pinned": version, "live": version,
                                                              "state": "deployed"}}})

    def requests(self, *answered: tuple[str, datetime, int, str]) -> None:
        log = PredictionLog(self.logs, max_bytes=1 << 20, max_age_s=3600)
        log.write_many([{"request_id": rid, "timestamp": when.isoformat(), "model": model, "version": version,
                         "inputs": [{}], "outputs": [1]} for rid, when, version, model in answered])
        log.close()

    def history(self, when: datetime | None = None, *, logs: bool = True):
        return history(ctx(self.repo, forge=self.forge), MODEL, at=when, logs=str(self.logs) if logs else None)


@pytest.fixture
def world(git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """v1 pinned 08:00 and deployed 09:00; v2 pinned 09:50 and deployed 10:00."""
    found = World(git_repo, tmp_path / "predictions", monkeypatch)
    found.pin(hour(8), 1)
    found.deployed(hour(9), 1)
    found.pin(hour(9, 50), 2)
    found.deployed(hour(10), 2)
    return found


def test_a_request_before_the_deployment_in_force_is_not_held_against_it(world: World) -> None:
    world.requests(("r1", hour(9, 30), 1, MODEL), ("x1", hour(10, 20), 9, "other_model"))
    found = world.history(hour(10, 30))
    assert (found.at_event.version, found.at_deployed.live, found.at_answered.before.request_id) == (2, 2, "r1")
    assert found.disagreements == [], "v1 answered r1 at 09:30, when v1 was deployed"
    assert found.at_unlogged_since == hour(10)
    assert ("answered  unknown: no request between 2026-03-02T10:00:00+00:00 (the deployment) and "
            "2026-03-02T10:30:00+00:00 (last before: r1 at 2026-03-02T09:30:00+00:00 by v1; none after)"
            ) in render_history(found)


def test_the_first_request_after_shows_serving_had_not_swapped_yet(world: World) -> None:
    world.requests(("r1", hour(9, 30), 1, MODEL), ("r2", hour(10, 45), 1, MODEL))
    (said,) = world.history(hour(10, 30)).disagreements
    assert "request r2 (2026-03-02T10:45:00+00:00) was answered by v1, while v2 was deployed" in said
    assert said.endswith("serving had not swapped yet")


def test_history_before_the_first_pin_has_nothing_pinned_or_deployed(world: World) -> None:
    world.requests(("r0", hour(7), 1, MODEL), ("r1", hour(9, 30), 1, MODEL))
    found = world.history(hour(7, 30))
    assert (found.at_event, found.at_deployed, found.at_unlogged_since) == (None, None, None)
    assert [line.split(": ")[0] for line in found.disagreements] == ["what answered disagrees with the pin"]
    text = render_history(found)
    assert "  pinned    nothing\n  deployed  nothing recorded by then\n  answered  v1 (last request before: r0" in text


def test_unreadable_deployment_records_say_nothing_and_are_listed(world: World) -> None:
    escape = "\x1b]0;owned\x07\x1b[2J"
    world.deployment(hour(10, 10), {"models": {MODEL: {"pinned": 2, "live": 1, "state": "failed",
                                                       "reason": f"{escape}bad digest"}}}, state="failure")
    world.deployment(hour(10, 20), {"models": {MODEL: {"pinned": "x"}}})  # half a record
    world.deployment(hour(10, 25), {"models": {MODEL: {"live": 2}}})
    world.deployment(hour(10, 30), {"models": {MODEL: "garbage"}})  # was read as "removed"
    world.deployment(hour(10, 35), {"models": {MODEL: True}})  # was read as "deployed v1"
    world.deployment(hour(10, 40), {"environment_url": "https://elsewhere.invalid"})  # another tool's: silent
    world.deployment(hour(10, 45), {"models": {"other_model": {"pinned": "x"}}})  # another model's: removed
    found = world.history(hour(10, 42), logs=False)
    assert [r.id for r in found.unreadable_deployments] == ["4", "5", "6", "7"]
    assert (found.at_deployed.id, found.at_deployed.state, found.at_deployed.live) == ("3", "failed", 1), (
        "the unreadable records after it say nothing: the failed deploy is the last word")
    assert found.events[-1].deployments[-1].state == "removed"
    text = render_history(found)
    assert "4 deployment record(s) could not be read; they say nothing about wine_logreg:" in text
    assert "#4 " in text and "models.wine_logreg: pinned: Input should be a valid integer" in text
    assert "bad digest" in text and "\x1b" not in text and "\x07" not in text


def test_hostile_log_lines_are_counted_where_the_answer_is_printed(world: World) -> None:
    world.requests(("r1", hour(10, 15), 2, MODEL))
    stamp = '"timestamp": "2026-03-02T10:25:00Z", "model": "wine_logreg"'
    (world.logs / "predictions-zz.jsonl").write_text("\n".join([
        f'{{"request_id": "r9", {stamp}, "version": Infinity}}',  # was OverflowError: "mlpin: bug"
        "[" * 100_000,  # was RecursionError
        f'{{"request_id": "r8", {stamp}, "version": true}}',  # was read as v1
        f'{{"request_id": "r7", {stamp}, "version": 2}}',  # `Z`: UTC
    ]))
    found = world.history(hour(10, 30))
    assert (found.at_answered.before.request_id, found.at_answered.skipped_lines, found.disagreements) == ("r7", 3, [])
    assert ("answered  v2 (last request before: r7 at 2026-03-02T10:25:00+00:00; none after); "
            "3 unreadable log line(s) skipped") in render_history(found)
