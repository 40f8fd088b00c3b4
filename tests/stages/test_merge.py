"""`mlpin forge merge` and its relation to `origin`: pushed to a bare one, kept local in a
clone of an ordinary (non-bare) repository, undone when the push fails, so the PR's state
and the branch always agree. Real repositories in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters import git as git_adapter
from pipelines.adapters import gitwrite
from pipelines.adapters.localforge import LocalForge
from pipelines.core.errors import OutsideSystemError
from pipelines.stages.merge import merge_pull
from tests.helpers import clone_repo, commit_all, ctx, edit_yaml, git


def open_pr(clone: Path) -> LocalForge:
    """PR #1 of the clone's local forge: branch `tune` edits the wine spec; main is checked out."""
    git(clone, "switch", "-q", "-c", "tune")
    edit_yaml(clone / "models/wine_logreg.yaml", description="tuned")
    commit_all(clone, "tune")
    git(clone, "switch", "-q", "main")
    forge = LocalForge(clone)
    forge.open_pull(head="tune", base="main", title="Tune wine", body="")
    return forge


@pytest.fixture
def bare_origin(git_repo: Path, tmp_path: Path) -> Path:
    """A bare repository holding git_repo's main, as a forge's git server would."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(git_repo), str(origin))
    return origin


def test_a_bare_origin_gets_the_merge(bare_origin: Path, tmp_path: Path) -> None:
    clone = clone_repo(bare_origin, tmp_path / "clone")
    forge = open_pr(clone)
    result = merge_pull(ctx(clone, forge=forge), "1")
    assert (result.pushed, result.kept_local) == (True, "")
    assert git(bare_origin, "rev-parse", "main") == result.merge_commit == git(clone, "rev-parse", "HEAD")
    assert forge.pull("1").state == "merged" and forge.pull("1").merge_commit == result.merge_commit


def test_a_clone_of_a_non_bare_repository_keeps_the_merge_local(git_repo: Path, tmp_path: Path) -> None:
    before = git(git_repo, "rev-parse", "main")
    clone = clone_repo(git_repo, tmp_path / "clone")
    forge = open_pr(clone)
    result = merge_pull(ctx(clone, forge=forge), "1")
    assert not result.pushed
    assert result.kept_local == (
        "origin is a non-bare repository with main checked out, which git does not push to; "
        "to share the merge, pull it from this clone there"
    )
    assert forge.pull("1").state == "merged" and forge.pull("1").merge_commit == git(clone, "rev-parse", "HEAD")
    assert git(git_repo, "rev-parse", "main") == before and git(git_repo, "status", "--porcelain") == ""


def test_a_failed_push_undoes_the_merge_and_a_retry_completes_it(bare_origin: Path, tmp_path: Path) -> None:
    clone = clone_repo(bare_origin, tmp_path / "clone")
    forge = open_pr(clone)
    before = git(clone, "rev-parse", "HEAD")
    hook = bare_origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'the server is down for maintenance' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(OutsideSystemError) as caught:
        merge_pull(ctx(clone, forge=forge), "1")
    assert caught.value.message.startswith(
        "git: pushing main to origin failed, so the merge was undone and PR #1 is still open; "
        "retry later (mlpin forge merge 1): "
    ) and "the server is down for maintenance" in caught.value.message
    assert git(clone, "rev-parse", "HEAD") == before and git(clone, "status", "--porcelain") == ""
    assert forge.pull("1").state == "open"

    hook.unlink()
    result = merge_pull(ctx(clone, forge=forge), "1")
    assert result.pushed and git(bare_origin, "rev-parse", "main") == result.merge_commit
    assert forge.pull("1").state == "merged"


def _failing_record(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(LocalForge, "record_merge", fail)


def test_a_merge_the_forge_could_not_record_is_undone(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forge = open_pr(git_repo)
    before = git(git_repo, "rev-parse", "HEAD")
    with monkeypatch.context() as patch:
        _failing_record(patch)
        with pytest.raises(OSError, match="No space left"):
            merge_pull(ctx(git_repo, forge=forge), "1")
    assert git(git_repo, "rev-parse", "HEAD") == before and forge.pull("1").state == "open"


def another_push(origin: Path, tmp_path: Path) -> str:
    """Someone else's commit on origin's main, pushed after the merge; its sha."""
    other = clone_repo(origin, tmp_path / "someone-else")
    (other / "NOTES.md").write_text("an unrelated change\n")
    sha = commit_all(other, "notes")
    git(other, "push", "-q", "origin", "main")
    return sha


def test_a_pushed_merge_the_forge_could_not_record_is_recorded_by_the_retry(
    bare_origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = clone_repo(bare_origin, tmp_path / "clone")
    forge = open_pr(clone)
    with monkeypatch.context() as patch:
        _failing_record(patch)
        with pytest.raises(OutsideSystemError) as caught:
            merge_pull(ctx(clone, forge=forge), "1")
    pushed = git(bare_origin, "rev-parse", "main")
    assert git(clone, "rev-parse", "HEAD") == pushed, "what origin has is not taken back"
    assert caught.value.message == (
        f"forge: PR #1 is merged as {pushed[:12]} and that merge is on origin, but recording it on the forge "
        "failed: No space left on device; retry (mlpin forge merge 1) to record it"
    )
    assert forge.pull("1").state == "open"

    later = another_push(bare_origin, tmp_path)
    result = merge_pull(ctx(clone, forge=forge), "1")
    assert result.merge_commit == pushed and forge.pull("1").merge_commit == pushed, "not the commit origin has now"
    assert result.pushed and git(bare_origin, "rev-parse", "main") == later == git(clone, "rev-parse", "HEAD")
    assert git(clone, "rev-list", "--merges", "--count", "HEAD") == "1", "merged once"


def test_a_push_whose_reply_was_lost_is_recorded_by_the_retry(
    bare_origin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = clone_repo(bare_origin, tmp_path / "clone")
    forge = open_pr(clone)
    before = git(clone, "rev-parse", "HEAD")
    publish, tip = gitwrite.publish_branch, git_adapter.remote_branch_tip

    def push_then_time_out(root: Path, branch: str, **kwargs) -> bool:
        publish(root, branch, **kwargs)
        raise OutsideSystemError("git", "git push failed: timed out after 120 s")

    def unreachable(root: Path, branch: str, **kwargs) -> str | None:
        if branch == "main":
            raise OutsideSystemError("git", "git ls-remote failed: Connection reset by peer")
        return tip(root, branch, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(gitwrite, "publish_branch", push_then_time_out)
        patch.setattr(git_adapter, "remote_branch_tip", unreachable)
        with pytest.raises(OutsideSystemError, match="the merge was undone"):
            merge_pull(ctx(clone, forge=forge), "1")
    assert git(clone, "rev-parse", "HEAD") == before and forge.pull("1").state == "open"
    landed = git(bare_origin, "rev-parse", "main")
    assert landed != before, "origin took the push all the same"

    another_push(bare_origin, tmp_path)
    result = merge_pull(ctx(clone, forge=forge), "1")
    assert result.merge_commit == landed and forge.pull("1").merge_commit == landed
    assert git(clone, "rev-list", "--merges", "--count", "HEAD") == "1", "merged once"
