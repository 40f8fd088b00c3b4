"""Text that pull-request code produced, made harmless to show in a comment that mlpin
posts with write access. Pure; it neutralises text and decides nothing.

Inline text (a gate's reason, a feature's name) must not ping anyone (`@user`,
`@org/team`), reference an issue, open raw HTML, link anywhere, or leave its table cell
or line. Lines shown in a fenced block must not close the fence. A zero-width joiner
breaks each such pattern without changing what people read.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.core.stage_results import CandidateReport

ZWJ = "\u200d"
_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # what starts an HTML tag or comment; `<= 0.3` stays
_REFERENCE = re.compile(r"#(?=\d)")


def inline(text: str) -> str:
    """`text` as one harmless line of markdown: no mention, HTML, link, reference or cell break."""
    text = text.replace("\r", " ").replace("\n", " ").replace("@", "@" + ZWJ)
    text = _TAG.sub("&lt;", text)
    text = _REFERENCE.sub("#" + ZWJ, text)
    text = text.replace("://", ":" + ZWJ + "//").replace("](", "]" + ZWJ + "(").replace("www.", "www" + ZWJ + ".")
    return text.replace("|", "\\|")


def block_lines(lines: list[str]) -> list[str]:
    """`lines` for a fenced code block (where nothing pings or renders) that they cannot close."""
    return [part.replace("`", "`" + ZWJ) for line in lines for part in line.replace("\r", "").split("\n")]


def neutralised(report: CandidateReport) -> CandidateReport:
    """`report` with every string in it (dictionary keys too) made inline-safe; numbers as they are."""
    return CandidateReport.model_validate(_walk(report.model_dump(mode="python")))


def _walk(value: Any) -> Any:
    if isinstance(value, str):
        return inline(value)
    if isinstance(value, dict):
        return {_walk(k): _walk(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v) for v in value]
    return value
