"""The hidden line a candidate comment carries, and the visible line a promotion PR shows
about the trusted rebuild. The line's content comes from a pull request's job: it must
never break out of its HTML comment or carry markup into the promotion PR."""

from __future__ import annotations

from pipelines.core.rebuild import parse_reported, rebuild_line, reported_line
from pipelines.core.schemas import PinnedModel
from tests.core.helpers import PROD, report

MARKER = "<!-- mlpin:candidate:breast_cancer_rf -->\n"
CANDIDATE = {"accuracy": 0.9649, "f1_weighted": 0.9645, "roc_auc": 0.994, "log_loss": 0.1147}


def pinned(**changes) -> PinnedModel:
    fields = {"version": 3, "run_id": "r", "artifact_sha256": "a" * 64, "spec_hash": "b" * 64,
              "data_sha256": "c" * 64, "metrics": dict(CANDIDATE)}
    return PinnedModel.model_validate({**fields, **changes})


def test_the_reported_numbers_round_trip_through_the_comment() -> None:
    line = reported_line(report(CANDIDATE, production=PROD, drift=None))
    found = parse_reported(f"<!-- mlpin:candidate:breast_cancer_rf -->\n{line}\n### body")
    assert found is not None and found.metrics == CANDIDATE and found.artifact_sha256 == "a" * 64


def test_a_metric_name_that_could_end_the_comment_carries_no_line() -> None:
    hostile = report({**CANDIDATE, "x --> <img src=x>": 1.0}, production=None, drift=None)
    assert reported_line(hostile) == ""


def test_lines_that_are_not_mlpins_shape_are_not_read() -> None:
    good = reported_line(report(CANDIDATE, production=None, drift=None))
    assert parse_reported(MARKER + good) is not None
    assert parse_reported(MARKER + good.replace('"accuracy"', '"**accuracy**"')) is None, "markup in a name"
    assert parse_reported(MARKER + good.replace("a" * 64, "a" * 63)) is None, "not a sha256"
    assert parse_reported("no line at all") is None


def test_the_visible_line_says_match_or_names_each_difference() -> None:
    reported = parse_reported(MARKER + reported_line(report(CANDIDATE, production=None, drift=None)))
    assert rebuild_line(reported, entry=pinned(), pr="12").startswith("✅ Rebuilt by `mlpin propose`")
    other = pinned(artifact_sha256="e" * 64, metrics={**CANDIDATE, "accuracy": 0.9})
    line = rebuild_line(reported, entry=other, pr="12")
    assert line.startswith("⚠️ **The rebuilt candidate differs from what PR #12 reported**")
    assert "artifact sha256 `eeeeeeeeeeee` (reported `aaaaaaaaaaaa`)" in line
    assert "accuracy 0.9000 (reported 0.9649)" in line
    assert "spec hash" in rebuild_line(reported, entry=pinned(spec_hash="f" * 64), pr="12")
    assert "reported no candidate numbers" in rebuild_line(None, entry=pinned(), pr=None)


def test_a_line_further_down_or_a_hostile_one_is_not_read() -> None:
    good = reported_line(report(CANDIDATE, production=None, drift=None))
    assert parse_reported(f"<!-- mlpin:candidate:m -->\n### error\n{good}") is None, "only right after the marker"
    deep = "<!-- mlpin:reported {\"a\":" + "[" * 1500 + "]" * 1500 + "} -->"
    assert parse_reported(f"<!-- mlpin:candidate:m -->\n{deep}") is None
    nan = good.replace('"accuracy":0.9649', '"accuracy":NaN')
    assert parse_reported(f"<!-- mlpin:candidate:m -->\n{nan}") is None
