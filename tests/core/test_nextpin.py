"""The next pin: entries from lineage tags, and the pin file text."""

from __future__ import annotations

import pytest
import yaml

from pipelines.core.errors import InvalidInput
from pipelines.core.nextpin import pin_entry, render_pins, with_entry
from pipelines.core.pin import pin_changes
from pipelines.core.schemas import ProductionPins
from tests.helpers import LINEAGE_TAGS, RUN_METRICS


def test_entry_comes_from_lineage_tags_without_productions_scores() -> None:
    entry = pin_entry("wine", 3, run_id="r1", tags=LINEAGE_TAGS, metrics=RUN_METRICS)
    assert (entry.version, entry.artifact_sha256, entry.source.pr, entry.source.commit) == (3, "c" * 64, 12, "d" * 40)
    assert entry.metrics == {"accuracy": 0.97, "roc_auc": 0.99}


def test_a_version_without_lineage_cannot_be_pinned() -> None:
    with pytest.raises(InvalidInput, match="lacks the lineage tags"):
        pin_entry("wine", 3, run_id="r1", tags={"mlpin.pr": "12"}, metrics={})


def test_pin_file_changes_only_the_promoted_entry() -> None:
    other = pin_entry("cancer", 7, run_id="r0", tags=LINEAGE_TAGS, metrics={"accuracy": 0.9})
    before = ProductionPins(models={"cancer": other})
    after = with_entry(before, "wine", entry=pin_entry("wine", 3, run_id="r1", tags=LINEAGE_TAGS, metrics=RUN_METRICS))
    text = render_pins(after)
    assert text.startswith("# What serves in production.")
    reread = ProductionPins.model_validate(yaml.safe_load(text))
    assert reread == after
    assert [(c.model, c.kind) for c in pin_changes(before, reread)] == [("wine", "added")]
    assert render_pins(ProductionPins.model_validate(yaml.safe_load(render_pins(before)))) == render_pins(before)
