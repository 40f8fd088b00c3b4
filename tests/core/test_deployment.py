"""What a deploy run records per model, its status and description, and how records
(also those written before per-model results) are read back."""

from __future__ import annotations

import pytest

from pipelines.core.deployment import (
    deployment_description,
    deployment_payload,
    deployment_state,
    read_payload,
)
from pipelines.core.outcome import Kind
from pipelines.core.rollout import AliasMove


def move(model: str, outcome: str, live: int | None, desired: int | None, **extra) -> AliasMove:
    return AliasMove(model=model, outcome=outcome, live=live, desired=desired, headline="h", **extra)


FAILED = move("b", "error", 1, 2, kind=Kind.INVALID_INPUT, reason="models.b.artifact_sha256: wrong")


@pytest.mark.parametrize(("moves", "models", "state"), [
    ([move("a", "moved", 1, 2)], {"a": {"pinned": 2, "live": 2, "state": "deployed"}}, "success"),
    ([move("a", "unchanged", 2, 2)], {"a": {"pinned": 2, "live": 2, "state": "deployed"}}, "success"),
    ([move("a", "removed", 2, None)], {}, "success"),
    ([move("a", "suspended", 1, 2)], {"a": {"pinned": 2, "live": 1, "state": "suspended"}}, "success"),
    ([FAILED], {"b": {"pinned": 2, "live": 1, "state": "failed", "reason": "models.b.artifact_sha256: wrong"}},
     "failure"),
    ([move("a", "moved", None, 1), FAILED], {"a": {"pinned": 1, "live": 1, "state": "deployed"},
                                             "b": {"pinned": 2, "live": 1, "state": "failed",
                                                   "reason": "models.b.artifact_sha256: wrong"}}, "failure"),
], ids=["moved", "unchanged-is-deployed-too", "removed-is-not-listed", "suspended", "failed", "one-of-two-failed"])
def test_payload_names_each_models_state_after_the_run(moves: list[AliasMove], models: dict, state: str) -> None:
    assert deployment_payload(moves, pr="12") == {"pr": "12", "models": models}
    assert deployment_state(moves) == state


def test_a_rerun_that_finds_everything_in_place_records_the_same_payload() -> None:
    first = deployment_payload([move("a", "moved", 1, 2), move("c", "removed", 4, None)], pr=None)
    again = deployment_payload([move("a", "unchanged", 2, 2)], pr=None)
    assert first == again


def test_description_names_failed_models_first_and_fits_githubs_limit() -> None:
    moves = [move(f"model_{n:02d}", "moved", 1, 2) for n in range(12)] + [FAILED]
    text = deployment_description(moves)
    assert text.startswith("failed: b v2 not deployed (alias at v1); production: model_00 v2") and len(text) <= 140
    assert deployment_description([move("a", "error", 2, 2, kind=Kind.INVALID_INPUT)]) == (
        "failed: a v2 changed behind the alias")
    assert deployment_description([]) == "production: nothing pinned"
    assert deployment_description([move("a", "suspended", 1, 2)]) == "production: a v1 (suspended)"


@pytest.mark.parametrize(("payload", "state", "expected"), [
    ({"models": {"a": {"pinned": 2, "live": 1, "state": "failed", "reason": "r"}}, "pr": None}, "failure",
     {"a": (2, 1, "failed")}),
    ({"models": {"a": 2}, "pr": None}, "success", {"a": (2, 2, "deployed")}),
    ({"models": {"a": 2}, "pr": None}, "inactive", {"a": (2, 2, "deployed")}),
    ({"models": {"a": 2}, "pr": None}, "pending", None),
    ({"models": {}, "pr": None}, "success", {}),
    ({}, "success", None),
], ids=["per-model", "old-success", "old-inactive", "old-pending-says-nothing", "nothing-pinned", "foreign"])
def test_read_payload(payload: dict, state: str, expected: dict | None) -> None:
    found = read_payload(payload, state=state)
    assert (found if found is None else {m: (d.pinned, d.live, d.state) for m, d in found.items()}) == expected
