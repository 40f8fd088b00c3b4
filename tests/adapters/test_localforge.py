"""The local forge keeps PR comments and statuses as files, with the same upsert rules."""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters.localforge import LocalForge
from pipelines.adapters.localissues import LocalIssue


def test_upsert_by_marker_and_separate_markers(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path)
    a1 = forge.upsert_comment("feature/x", "<!-- a -->", "<!-- a -->\none")
    b1 = forge.upsert_comment("feature/x", "<!-- b -->", "<!-- b -->\ntwo")
    a2 = forge.upsert_comment("feature/x", "<!-- a -->", "<!-- a -->\nthree")
    same = forge.upsert_comment("feature/x", "<!-- a -->", "<!-- a -->\nthree")
    assert (a1.created, b1.created, a2.created, same.changed) == (True, True, False, False)
    assert [p.read_text() for p in forge.comments("feature/x")] == ["<!-- a -->\nthree", "<!-- b -->\ntwo"]
    assert forge.prs() == ["feature_x"]


def test_a_comment_without_a_recorded_author_is_never_taken_for_mlpins(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path)
    (forge.folder / "prs" / "7").mkdir(parents=True)
    (forge.folder / "prs" / "7" / "1.md").write_text("<!-- a -->\nwritten by hand")
    ref = forge.upsert_comment("7", "<!-- a -->", "<!-- a -->\nmlpin's")
    assert (ref.created, ref.id) == (True, "2")
    assert [(forge.comment_author(p), p.read_text()) for p in forge.comments("7")] == [
        (None, "<!-- a -->\nwritten by hand"), ("mlpin", "<!-- a -->\nmlpin's")]


def test_latest_status_per_context(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path)
    forge.set_status("abc", context="mlpin/candidate", state="pending", description="running")
    forge.set_status("abc", context="mlpin/candidate", state="success", description="passed: wine")
    forge.set_status("abc", context="other", state="failure", description="x")
    assert forge.statuses("abc")["mlpin/candidate"] == {
        "state": "success",
        "description": "passed: wine",
        "target_url": None,
    }
    assert set(forge.statuses("abc")) == {"mlpin/candidate", "other"}


def test_forge_show_prints_comments_and_statuses(tmp_path: Path, capsys) -> None:
    import json

    from pipelines.cli import main

    forge = LocalForge(tmp_path)
    forge.upsert_comment("7", "<!-- a -->", "<!-- a -->\nhello")
    forge.set_status("f" * 40, context="mlpin/candidate", state="failure", description="blocked: wine")
    assert main(["forge", "show", "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "==== PR 7, comment 1 by mlpin" in out and "hello" in out
    assert "ffffffffffff mlpin/candidate: failure - blocked: wine" in out
    assert main(["forge", "show", "--repo", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["comments"] == {"7": ["<!-- a -->\nhello"]}


def test_pull_files_are_what_the_branch_changes_since_it_left_its_base(repo: Path) -> None:
    from tests.helpers import commit_all, git

    git(repo, "checkout", "-q", "-b", "add")
    (repo / "models" / "new_model.yaml").write_text("name: new_model\n")
    commit_all(repo, "add a spec")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("main moved on\n")
    commit_all(repo, "main moves")
    forge = LocalForge(repo)
    pull = forge.open_pull(head="add", base="main", title="add", body="")
    assert forge.pull_files(pull.number) == ["models/new_model.yaml"]
    assert forge.pull_files("99") == []


def test_an_issue_is_looked_up_under_the_lock_so_racing_checks_open_one(tmp_path: Path) -> None:
    import threading

    fingerprint = "<!-- mlpin:drift:wine -->"
    forge, racer = LocalForge(tmp_path), LocalForge(tmp_path)
    refs = []
    with forge.locked():  # another check is between its lookup and its write
        thread = threading.Thread(target=lambda: refs.append(racer.open_issue(
            fingerprint=fingerprint, title="wine drifted", body=f"{fingerprint}\nx", labels=[])))
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive() and not refs, "the second check waits for the lock"
        forge._save_issue(LocalIssue(number=1, title="wine drifted", body=f"{fingerprint}\nx", author="mlpin",
                                     created_at="2026-11-23T00:00:00+00:00", updated_at="2026-11-23T00:00:00+00:00"))
    thread.join(timeout=10)
    assert [(r.number, r.created) for r in refs] == [("1", False)], "it finds the first check's issue"
    assert len(forge.issues()) == 1


def test_forge_show_lists_issues(tmp_path: Path, capsys) -> None:
    import json

    from pipelines.cli import main

    forge = LocalForge(tmp_path)
    pull = forge.open_pull(head="promote/wine", base="main", title="promote wine", body="")
    ref = forge.open_issue(fingerprint="<!-- mlpin:drift:wine -->", title="wine drifted",
                           body="<!-- mlpin:drift:wine -->\npsi 0.3", labels=["mlpin-drift", "wine"])
    forge.comment_issue(ref.number, "<!-- mlpin:drift-check -->\ndrifted")
    forge.add_issue(title="a question", body="why?", author="bob", state="closed")
    assert main(["forge", "show", "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (pull.number, ref.number) == ("1", "2"), "one number space, as on GitHub"
    assert "  #2 [open] wine drifted (by mlpin; labels: mlpin-drift, wine; 1 comment)" in out
    assert "  #3 [closed] a question (by bob; labels: none; 0 comments)" in out
    assert main(["forge", "show", "--repo", str(tmp_path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["issues"]
    assert [(i["number"], i["state"], i["labels"]) for i in shown] == [(2, "open", ["mlpin-drift", "wine"]),
                                                                      (3, "closed", [])]
