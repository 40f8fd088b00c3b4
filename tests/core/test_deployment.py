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


GOOD = {"pinned": 2, "live": 2, "state": "deployed"}


@pytest.mark.parametrize(("payload", "state", "expected", "unreadable"), [
    ({"models": {"m": {"pinned": 2, "live": 1, "state": "failed", "reason": "r"}}, "pr": None}, "failure",
     (2, 1, "failed"), []),
    ({"models": {"m": 2}, "pr": None}, "success", (2, 2, "deployed"), []),
    ({"models": {"m": 2}, "pr": None}, "inactive", (2, 2, "deployed"), []),
    ({"models": {"m": 2}, "pr": None}, "pending", None, []),
    ({"models": {}, "pr": None}, "success", (None, None, "removed"), []),
    ({}, "success", None, []),
    ({"environment_url": "https://example.invalid"}, "success", None, []),
    ({"models": {"m": GOOD, "other": "garbage"}}, "success", (2, 2, "deployed"), []),
    ({"models": {"other": {"pinned": "x"}}}, "success", (None, None, "removed"), []),
    ({"models": {"m": {"pinned": "x"}}}, "success", None, ["models.m"]),
    ({"models": {"m": {"live": 2}}}, "success", None, ["models.m"]),
    ({"models": {"m": "garbage"}}, "success", None, ["models.m"]),
    ({"models": {"m": True}}, "success", None, ["models.m"]),
    ({"models": {"m": 0, "other": 3}}, "success", None, ["models.m"]),
    ({"models": {"m": {**GOOD, "pinned": True}}}, "success", None, ["models.m"]),
    ({"models": {"m": {**GOOD, "live": "2"}}}, "success", None, ["models.m"]),
    ({"models": {"m": {**GOOD, "state": "exploded"}}}, "success", None, ["models.m"]),
    ({"models": {"m": {**GOOD, "reason": ["not", "text"]}}}, "success", None, ["models.m"]),
    ({"models": ["m"]}, "success", None, ["models"]),
    ("deploy-123", "success", None, ["payload"]),
], ids=["per-model", "old-success", "old-inactive", "old-pending-says-nothing", "nothing-pinned", "foreign",
        "foreign-keys", "another-models-entry-unreadable", "left-out-beside-an-unreadable-entry", "pinned-not-int",
        "fields-missing", "entry-not-a-mapping", "entry-true", "old-version-zero", "pinned-bool", "live-string",
        "unknown-state", "reason-not-text", "models-not-a-mapping", "payload-not-a-mapping"])
def test_read_payload_reads_each_model_alone(payload: object, state: str, expected: tuple | None,
                                             unreadable: list[str]) -> None:
    found = read_payload(payload, state=state)
    said = found.about("m")
    assert (said if said is None else (said.pinned, said.live, said.state)) == expected
    assert [problem.split(":")[0] for problem in found.problems("m")] == unreadable
