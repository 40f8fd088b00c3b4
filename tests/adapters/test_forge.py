"""The forge port's own helpers: commit status contexts."""

from __future__ import annotations

import pytest

from pipelines.adapters.forge import PROPOSE_CONTEXT, STATUS_CONTEXT, status_context
from pipelines.core.errors import InvalidInput


@pytest.mark.parametrize(("stage", "model", "expected"), [
    ("candidate", None, "mlpin/candidate"),
    ("candidate", "wine_logreg", "mlpin/candidate/wine_logreg"),
    ("propose", "v1.2-x", "mlpin/propose/v1.2-x"),
], ids=["rollup", "model", "dots-and-dashes"])
def test_status_context_names_the_stage_and_model(stage: str, model: str | None, expected: str) -> None:
    assert status_context(stage, model) == expected


@pytest.mark.parametrize("model", ["a/b", "a b", "", "..", "wine\n", "ünï"], ids=["slash", "space", "empty", "dots",
                                                                                  "newline", "non-ascii"])
def test_status_context_refuses_unsafe_model_names(model: str) -> None:
    with pytest.raises(InvalidInput, match="commit status context"):
        status_context("candidate", model)


def test_the_rollup_contexts_keep_their_names() -> None:
    assert (STATUS_CONTEXT, PROPOSE_CONTEXT) == ("mlpin/candidate", "mlpin/propose")
