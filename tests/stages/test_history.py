"""`history` over what others wrote: deployment records another tool (or a broken deploy)
left in the shared `production` environment, and serving's log of several models, at
times the test sets: pins committed at set times, deployments recorded at set times on
the local forge, requests logged by the real log writer with set timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


def test_on_github_history_reads_only_the_deployments_it_needs(git_repo: Path, fake_github, github_forge,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Deployments since the model's first pin, and no status a payload does not need: the
    same requests whether the environment holds 200 older deployments or 400, and the same
    answer as the records say."""
    from pipelines.adapters.github import GitHubForge

    world = World(git_repo, git_repo / "unused", monkeypatch)
    world.pin(hour(8), 1)
    first = git(git_repo, "rev-parse", "HEAD")
    world.pin(hour(9, 50), 2)
    second = git(git_repo, "rev-parse", "HEAD")
    mine = {"pr": None, "models": {MODEL: {"pinned": 1, "live": 1, "state": "deployed"}}}

    def answer(older: int) -> tuple[list, object, object, int]:
        fake_github.deployments.clear()
        for n in range(older, 0, -1):  # another model's deploys, a minute apart up to the day before: each
            when = datetime(2026, 3, 2, tzinfo=UTC) - timedelta(minutes=n)  # says MODEL is not in production
            fake_github.add_deployment(sha="e" * 40, payload={"pr": None, "models": {"other_model": {
                "pinned": 1, "live": 1, "state": "deployed"}}}, created_at=when.isoformat())
        fake_github.add_deployment(sha=first, payload=mine, created_at="2026-03-02T09:00:00Z")
        fake_github.add_deployment(sha=first, payload={"models": {MODEL: 1}}, created_at="2026-03-02T09:30:00Z")
        fake_github.add_deployment(sha=second, payload={"pr": None, "models": {MODEL: {
            "pinned": 2, "live": 2, "state": "deployed"}}}, created_at="2026-03-02T10:00:00Z")
        forge = GitHubForge(token=fake_github.token, repository=fake_github.repository, base_url=fake_github.base_url,
                            throttle=False, backoff_factor=0)
        fake_github.requests.clear()
        found = history(ctx(git_repo, forge=forge), MODEL)
        timeline = [[(r.time.hour, r.time.minute, r.live) for r in e.deployments] for e in found.events]
        then = history(ctx(git_repo, forge=forge), MODEL, at=hour(10, 30), logs=None).at_deployed
        before = history(ctx(git_repo, forge=forge), MODEL, at=hour(7), logs=None).at_deployed
        return timeline, (then.time, then.live), (before.time, before.state, before.live), len(fake_github.requests)

    few, many = answer(200), answer(400)
    assert few[:3] == many[:3] == ([[(9, 0, 1), (9, 30, 1)], [(10, 0, 2)]], (hour(10), 2),
                                   (datetime(2026, 3, 1, 23, 59, tzinfo=UTC), "removed", None))
    assert few[3] == many[3] <= 25, f"{few[3]} and {many[3]} requests for 200 and 400 older deployments"
