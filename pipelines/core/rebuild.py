"""What a pull request reported about its candidate, and how the trusted rebuild compares.

A pull request's job builds its candidate without registering it; after the merge,
`mlpin propose` rebuilds it from the merged commit with trusted code and registers that.
Training is reproducible, so the two should agree. The PR's comment carries its numbers in
one hidden line; the promotion PR says, in a visible line, whether the rebuild matched.

What the line holds was produced by the pull request's code: it is shown, never trusted.
Pure: strings in, strings out.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from pipelines.core.schemas import PinnedModel
from pipelines.core.stage_results import CandidateReport

REPORTED = re.compile(r"^<!-- mlpin:reported (\{[^\n>]{0,4000}\}) -->$", re.MULTILINE)
TOLERANCE = 1e-9  # metrics are rounded when scored; equal means equal to rounding noise


class Reported(BaseModel):
    """A candidate's numbers as its pull request's job reported them."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    spec_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    artifact_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # names are shown in the promotion PR: plain metric names only, never markup
    metrics: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.]{1,40}$")], float] = Field(max_length=64)


def reported_line(report: CandidateReport) -> str:
    """The hidden line a candidate comment carries (no `>` inside, so it cannot end the comment);
    empty when the numbers are not well-formed."""
    try:
        data = Reported(spec_hash=report.train.spec_hash, artifact_sha256=report.train.artifact_sha256,
                        metrics={k: v for k, v in report.train.metrics.items() if math.isfinite(v)})
    except ValidationError:  # numbers that do not look like mlpin's are not carried
        return ""
    text = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    safe = text.replace(">", "\\u003e")
    return f"<!-- mlpin:reported {safe} -->"


def parse_reported(body: str) -> Reported | None:
    """The numbers a candidate comment reported, read only from the line right after its
    marker (where mlpin writes it; text further down may come from a pull request); None
    when there is none that is valid."""
    lines = body.split("\n", 2)
    found = REPORTED.fullmatch(lines[1]) if len(lines) > 1 else None
    if found is None:
        return None
    try:
        return Reported.model_validate(json.loads(found.group(1)))
    except (ValueError, ValidationError, RecursionError):
        return None


def rebuild_line(reported: Reported | None, *, entry: PinnedModel, pr: str | None) -> str:
    """The visible line of a promotion PR: did the trusted rebuild match what the PR reported?"""
    where = f"PR #{pr}" if pr else "the pull request"
    if reported is None:
        return (f"ℹ️ Built and judged by `mlpin propose` from the merged commit; {where} reported no candidate "
                "numbers to compare with.")
    if reported.spec_hash != entry.spec_hash:
        return (f"ℹ️ Built and judged by `mlpin propose` from the merged commit, whose spec hash "
                f"`{entry.spec_hash[:12]}` differs from the one {where} was judged on (`{reported.spec_hash[:12]}`): "
                "main changed after that report.")
    differences = []
    if reported.artifact_sha256 != entry.artifact_sha256:
        differences.append(
            f"artifact sha256 `{entry.artifact_sha256[:12]}` (reported `{reported.artifact_sha256[:12]}`)")
    for name in sorted(set(reported.metrics) | set(entry.metrics)):
        mine, theirs = entry.metrics.get(name), reported.metrics.get(name)
        if mine is None or theirs is None or abs(mine - theirs) > TOLERANCE:
            differences.append(f"{name} {_number(mine)} (reported {_number(theirs)})")
    if not differences:
        return (f"✅ Rebuilt by `mlpin propose` from the merged commit: the artifact digest and every metric "
                f"match what {where} reported.")
    return (f"⚠️ **The rebuilt candidate differs from what {where} reported**: {'; '.join(differences)}. "
            "Review these numbers, not the PR's comment.")


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:.4f}"
