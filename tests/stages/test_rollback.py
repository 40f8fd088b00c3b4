"""Which pin changes `mlpin rollback` reverts, and the clear refusals; and, in a real
repository with a bare origin against the fake GitHub, that the forge is asked before
anything is pushed and that a rerun reuses the open PR."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.adapters.github import GitHubForge
from pipelines.core.errors import InvalidInput
from pipelines.core.history import PinEvent
from pipelines.core.pullrequests import rollback_branch, rollback_title
from pipelines.stages.rollback import _to_revert, rollback
from tests.fakes.github_api import FakeGitHub
from tests.helpers import ctx, git, pin
from tests.stages.helpers import MODEL


def events(*versions: int | None) -> list[PinEvent]:
    out, previous = [], None
    for i, version in enumerate(versions):
        out.append(PinEvent(commit=f"c{i}", time=datetime(2026, 1, i + 1, tzinfo=UTC), change="x", version=version,
                            previous=previous, entry=None))
        previous = version
    return out


@pytest.mark.parametrize(("versions", "to", "expected"), [
    ((1, 2), None, ["c1"]),
    ((1, 2, 3), 1, ["c2", "c1"]),           # newest first, back to where v1 was pinned
    ((1, 2, 1, 3), 1, ["c3"]),              # the latest time v1 was pinned
    ((1,), None, ["c0"]),                   # the first promotion: reverting unpins
], ids=["last-change", "to-older", "to-latest-occurrence", "unpin"])
def test_commits_to_revert(versions: tuple, to: int | None, expected: list[str]) -> None:
    assert [e.commit for e in _to_revert("m", events(*versions), to=to)] == expected


@pytest.mark.parametrize(("versions", "to", "message"), [
    ((1, 2), 2, "already in production"),
    ((1, 2), 7, "never in production on this branch; it held v1, v2"),
    ((1, None), None, "not pinned now"),
], ids=["current", "unknown", "unpinned"])
def test_refusals_say_what_to_do(versions: tuple, to: int | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _to_revert("m", events(*versions), to=to)


def _entry(version: int) -> dict:
    return {"version": version, "run_id": f"run-{version}", "artifact_sha256": "a" * 64, "spec_hash": "b" * 64,
            "data_sha256": "c" * 64}


@pytest.fixture
def published(git_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """v1 then v2 pinned, pushed to a bare origin: (the clone rollback runs in, origin)."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(git_repo, "remote", "add", "origin", str(origin))
    pin(git_repo, **{MODEL: _entry(1)})
    pin(git_repo, **{MODEL: _entry(2)})
    git(git_repo, "push", "-q", "origin", "HEAD")
    return git_repo, origin


def _remote_branch(origin: Path) -> str | None:
    found = git(origin, "for-each-ref", "--format=%(objectname)", f"refs/heads/{rollback_branch(MODEL)}")
    return found or None


def test_a_forge_that_refuses_stops_the_rollback_before_anything_is_pushed(published, fake_github: FakeGitHub,
                                                                          github_forge: GitHubForge) -> None:
    repo, origin = published
    fake_github.fail_next("GET", r"/pulls$", 403, message="Resource not accessible by integration")
    with pytest.raises(InvalidInput, match="lacks pull-requests: read"):
        rollback(ctx(repo, forge=github_forge), MODEL)
    assert _remote_branch(origin) is None, "nothing was pushed"
    assert fake_github.prs == {}


def test_a_rerun_reuses_the_open_pr_and_leaves_its_branch(published, fake_github: FakeGitHub,
                                                          github_forge: GitHubForge,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo, origin = published
    first = rollback(ctx(repo, forge=github_forge), MODEL)
    pushed = _remote_branch(origin)
    for variable in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):  # a later rerun makes another revert commit
        monkeypatch.setenv(variable, "2030-01-01T00:00:00+00:00")
    again = rollback(ctx(repo, forge=github_forge), MODEL)
    assert (again.pr, len(fake_github.prs)) == (first.pr, 1), "one PR, reused"
    assert pushed is not None and _remote_branch(origin) == pushed, "the same revert is not pushed again"
    assert (first.from_version, first.to_version) == (2, 1)
    assert fake_github.prs[int(first.pr)]["title"] == rollback_title(MODEL, current=2, target=1)


def test_a_different_rollback_on_the_open_pr_replaces_its_branch(published, fake_github: FakeGitHub,
                                                                 github_forge: GitHubForge) -> None:
    repo, origin = published
    pin(repo, **{MODEL: _entry(3)})
    git(repo, "push", "-q", "origin", "HEAD")
    first = rollback(ctx(repo, forge=github_forge), MODEL)  # v3 -> v2
    pushed = _remote_branch(origin)
    again = rollback(ctx(repo, forge=github_forge), MODEL, to=1)  # v3 -> v1: other files
    assert again.pr == first.pr and len(fake_github.prs) == 1
    assert _remote_branch(origin) not in (None, pushed)
    assert "run_id: run-1" in git(origin, "show", f"{rollback_branch(MODEL)}:models/production.yaml")
