"""The page renders what /status says, and escapes everything that came from outside."""

from __future__ import annotations

import pytest

from serving.page import render_page

STATUS = {
    "pin": {"source": "git repo main:models/production.yaml", "revision": "0123456789abcdef", "condition": "Stalled",
            "reason": "InvalidYaml", "message": "line 3: <script>alert(1)</script>"},
    "models": [{"model": "m", "live_version": 1, "desired_version": 2, "pin_revision": "0123456789abcdef",
                "condition": "Stalled", "reason": "DigestMismatch", "message": "sha <b>differs</b>"}],
}


def test_outside_text_is_escaped() -> None:
    page = render_page(STATUS, [])
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "sha &lt;b&gt;differs&lt;/b&gt;" in page


def test_rows_show_live_desired_commit_and_condition() -> None:
    page = render_page(STATUS, [])
    assert '<td>m</td><td>v1</td><td>v2</td><td>0123456789ab</td><td class="Stalled">Stalled</td>' in page
    assert "nothing pinned" in render_page({**STATUS, "models": []}, [])


@pytest.mark.parametrize(
    ("retry", "shown"),
    [
        (
            {"terminal": True, "next_attempt_at": None},
            "DigestMismatch: sha &lt;b&gt;differs&lt;/b&gt; (not retried until the pin changes)",
        ),
        (
            {"terminal": False, "next_attempt_at": "2026-01-01T00:00:10Z"},
            "DigestMismatch: sha &lt;b&gt;differs&lt;/b&gt; (next try 2026-01-01T00:00:10Z)",
        ),
        ({"terminal": False, "next_attempt_at": None}, "DigestMismatch: sha &lt;b&gt;differs&lt;/b&gt;</td>"),
    ],
    ids=["terminal", "backing-off", "no-retry-pending"],
)
def test_a_stalled_row_says_when_it_is_tried_again(retry: dict, shown: str) -> None:
    status = {**STATUS, "models": [{**STATUS["models"][0], **retry}]}
    assert shown in render_page(status, [])
