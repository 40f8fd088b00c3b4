"""Which aliases move so the registry mirrors the pin."""

from __future__ import annotations

import pytest

from pipelines.core.rollout import plan_rollout
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
