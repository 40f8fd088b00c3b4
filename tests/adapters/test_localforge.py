"""The local forge keeps PR comments and statuses as files, with the same upsert rules."""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters.localforge import LocalForge


def test_upsert_by_marker_and_separate_markers(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path)
    a1 = forge.upsert_comment("feature/x", "<!-- a -->", "<!-- a -->\none")
    b1 = forge.upsert_comment("feature/x", "<!-- b -->", "<!-- b -->\ntwo")
    a2 = forge.upsert_comment("feature/x", "<!-- a -->", "<!-- a -->\nthree")
    same = forge.upsert_comment("feature/x", "<!-- a -->", "<!-- a -->\nthree")
    assert (a1.created, b1.created, a2.created, same.changed) == (True, True, False, False)
    assert [p.read_text() for p in forge.comments("feature/x")] == ["<!-- a -->\nthree", "<!-- b -->\ntwo"]
    assert forge.prs() == ["feature_x"]


def test_latest_status_per_context(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path)
    forge.set_status("abc", context="mlpin/candidate", state="pending", description="running")
    forge.set_status("abc", context="mlpin/candidate", state="success", description="passed: wine")
    forge.set_status("abc", context="other", state="failure", description="x")
    assert forge.statuses("abc")["mlpin/candidate"] == {"state": "success", "description": "passed: wine", "target_url": None}
    assert set(forge.statuses("abc")) == {"mlpin/candidate", "other"}
