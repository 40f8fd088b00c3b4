"""The pull requests and comments that carry a pin change, checked against reviewed
markdown snapshots (tests/core/__snapshots__/test_pullrequests/)."""

from __future__ import annotations

from pipelines.core.nextpin import pin_entry
from pipelines.core.policy import evaluate_gates
from pipelines.core.pullrequests import render_blocked, render_promotion, render_rollback
from pipelines.core.schemas import PromotionPolicy
from tests.helpers import LINEAGE_TAGS, RUN_METRICS


def test_promotion_pr_body(md) -> None:
    old = pin_entry("wine", 2, run_id="r0", tags=LINEAGE_TAGS, metrics={"accuracy": 0.95})
    new = pin_entry("wine", 3, run_id="r1", tags=LINEAGE_TAGS, metrics=RUN_METRICS)
    assert render_promotion("wine", old=old, new=new, report="<!-- mlpin:candidate:wine -->\n### report") == md


def test_blocked_comment_lists_every_failed_gate(md) -> None:
    policy = PromotionPolicy.model_validate({"min_eval_rows": 30, "metrics": [{"metric": "accuracy", "min": 0.99}]})
    decision = evaluate_gates(policy, candidate={"accuracy": 0.9}, production=None, eval_rows=10, drifted_share=None)
    body = render_blocked("wine", decision, version=4)
    assert body.count("\n- **") == 2
    assert body == md


def test_rollback_pr_body(md) -> None:
    assert render_rollback("wine", reverts=["a" * 40, "b" * 40], current=3, target=1) == md


def test_rollback_to_nothing_pr_body(md) -> None:
    assert render_rollback("wine", reverts=["a" * 40], current=1, target=None) == md
