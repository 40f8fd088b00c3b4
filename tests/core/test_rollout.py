"""Which aliases move so the registry mirrors the pin."""

from __future__ import annotations

import pytest

from pipelines.core.rollout import entry_commit, plan_rollout
from pipelines.core.schemas import PinnedModel, ProductionPins


def pins(**versions) -> ProductionPins:
    return ProductionPins(
        models={
            name: PinnedModel(
                version=abs(v),
                run_id="r",
                artifact_sha256="a" * 64,
                spec_hash="b" * 64,
                data_sha256="c" * 64,
                suspend=v < 0,
            )
            for name, v in versions.items()
        }
    )


@pytest.mark.parametrize(("pinned", "live", "expected"), [
    (pins(a=1), {}, [("a", "moved")]),
    (pins(a=2), {"a": 1}, [("a", "moved")]),
    (pins(a=1), {"a": 1}, [("a", "unchanged")]),
    (pins(), {"a": 1}, [("a", "removed")]),
    (pins(a=-2), {"a": 1}, [("a", "suspended")]),
    (pins(a=1, b=3), {"b": 2, "c": 1}, [("a", "moved"), ("b", "moved"), ("c", "removed")]),
], ids=["first", "newer", "same", "unpinned", "suspended", "several"])
def test_plan(pinned: ProductionPins, live: dict, expected: list) -> None:
    assert [(m.model, m.outcome) for m in plan_rollout(pinned, live)] == expected


@pytest.mark.parametrize(("history", "expected"), [
    ([("c3", pins(a=2, b=1)), ("c2", pins(a=2)), ("c1", pins(a=1))], "c2"),
    ([("c2", pins(a=2)), ("c1", pins(a=1))], "c2"),
    ([("c3", pins(a=1)), ("c2", pins(a=2)), ("c1", pins(a=1))], "c3"),
    ([("c3", pins(a=-2)), ("c2", pins(a=2)), ("c1", pins())], "c2"),
    ([("c2", pins(a=2)), ("c1", None)], "c2"),
    ([("c1", pins(a=2))], "c1"),
    ([], None),
], ids=["other-model-changed-since", "newest", "reverted", "suspend-keeps-the-version", "unreadable-before",
        "first-pin", "no-history"])
def test_entry_commit_is_the_commit_that_set_the_version(history: list, expected: str | None) -> None:
    assert entry_commit(history, "a") == expected


def test_entry_commit_reads_no_further_than_it_must() -> None:
    read = []

    def history():
        for commit, pinned in [("c3", pins(a=2, b=1)), ("c2", pins(a=2)), ("c1", pins(a=1)), ("c0", pins())]:
            read.append(commit)
            yield commit, pinned

    assert entry_commit(history(), "a") == "c2" and read == ["c3", "c2", "c1"]
