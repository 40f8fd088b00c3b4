"""The next pin and the promotion PR: entries from lineage tags, the pin file text,
and the PR body and blocked comment (reviewed snapshots in __snapshots__/)."""

from __future__ import annotations

import pytest
import yaml

from pipelines.core.errors import InvalidInput
from pipelines.core.pin import pin_changes
from pipelines.core.policy import evaluate_gates
from pipelines.core.promotion import pin_entry, render_blocked, render_pins, render_promotion, with_entry
from pipelines.core.schemas import ProductionPins, PromotionPolicy
from tests.core.test_report import md  # noqa: F401  (the markdown snapshot fixture)

SHA = {k: c * 64 for k, c in (("spec_hash", "a"), ("data_sha256", "b"), ("artifact_sha256", "c"))}
TAGS = {f"mlpin.{k}": v for k, v in SHA.items()} | {"mlpin.pr": "12", "mlpin.candidate_commit": "d" * 40}
METRICS = {"accuracy": 0.97, "roc_auc": 0.99, "production.accuracy": 0.95}


def test_entry_comes_from_lineage_tags_without_productions_scores() -> None:
    entry = pin_entry("wine", 3, run_id="r1", tags=TAGS, metrics=METRICS)
    assert (entry.version, entry.artifact_sha256, entry.source.pr, entry.source.commit) == (3, "c" * 64, 12, "d" * 40)
    assert entry.metrics == {"accuracy": 0.97, "roc_auc": 0.99}


def test_a_version_without_lineage_cannot_be_pinned() -> None:
    with pytest.raises(InvalidInput, match="lacks the lineage tags"):
        pin_entry("wine", 3, run_id="r1", tags={"mlpin.pr": "12"}, metrics={})


def test_pin_file_changes_only_the_promoted_entry() -> None:
    other = pin_entry("cancer", 7, run_id="r0", tags=TAGS, metrics={"accuracy": 0.9})
    before = ProductionPins(models={"cancer": other})
    after = with_entry(before, "wine", pin_entry("wine", 3, run_id="r1", tags=TAGS, metrics=METRICS))
    text = render_pins(after)
    assert text.startswith("# What serves in production.")
    reread = ProductionPins.model_validate(yaml.safe_load(text))
    assert reread == after
    assert [(c.model, c.kind) for c in pin_changes(before, reread)] == [("wine", "added")]
    assert render_pins(ProductionPins.model_validate(yaml.safe_load(render_pins(before)))) == render_pins(before)


def test_promotion_pr_body(md) -> None:  # noqa: F811
    old = pin_entry("wine", 2, run_id="r0", tags=TAGS, metrics={"accuracy": 0.95})
    new = pin_entry("wine", 3, run_id="r1", tags=TAGS, metrics=METRICS)
    assert render_promotion("wine", old=old, new=new, report="<!-- mlpin:candidate:wine -->\n### report") == md


def test_blocked_comment_lists_every_failed_gate(md) -> None:  # noqa: F811
    policy = PromotionPolicy.model_validate({"min_eval_rows": 30, "metrics": [{"metric": "accuracy", "min": 0.99}]})
    decision = evaluate_gates(policy, candidate={"accuracy": 0.9}, production=None, eval_rows=10, drifted_share=None)
    body = render_blocked("wine", 4, decision)
    assert body.count("\n- **") == 2
    assert body == md
