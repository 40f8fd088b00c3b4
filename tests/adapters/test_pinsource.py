"""Pin sources against real files and real git remotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.pinsource import FilePinSource, GitPinSource
from pipelines.core.errors import OutsideSystemError
from tests.conftest import commit_all, git


def test_file_source_reads_text_and_a_content_revision(tmp_path: Path) -> None:
    pin = tmp_path / "production.yaml"
    pin.write_text("schema_version: 1\nmodels: {}\n")
    first = FilePinSource(pin).read()
    pin.write_text("schema_version: 1\nmodels: {}\n# changed\n")
    second = FilePinSource(pin).read()
    assert first.text.startswith("schema_version: 1")
    assert first.revision.startswith("sha256:") and first.revision != second.revision


def test_missing_file_is_an_outside_failure(tmp_path: Path) -> None:
    with pytest.raises(OutsideSystemError, match="cannot read"):
        FilePinSource(tmp_path / "nope.yaml").read()


def test_git_source_follows_the_branch_tip_and_reports_the_commit(repo: Path, tmp_path: Path) -> None:
    source = GitPinSource(str(repo), branch="main", pin_path="models/production.yaml", mirror_path=tmp_path / "mirror")
    first = source.read()
    assert first.revision == git(repo, "rev-parse", "HEAD")
    assert "models: {}" in first.text
    (repo / "models/production.yaml").write_text("schema_version: 1\nmodels: {}\n# promoted\n")
    head = commit_all(repo, "promote")
    git(repo, "checkout", "-q", "-b", "elsewhere")
    (repo / "models/production.yaml").write_text("not on main\n")
    commit_all(repo, "other branch")
    second = source.read()
    assert (second.revision, second.text.endswith("# promoted\n")) == (head, True)


@pytest.mark.parametrize(
    ("remote", "branch", "pin_path", "expected"),
    [
        ("{tmp}/no-such-repo", "main", "models/production.yaml", "git fetch"),
        ("{repo}", "no-such-branch", "models/production.yaml", "git fetch"),
        ("{repo}", "main", "models/missing.yaml", "models/missing.yaml does not exist on main"),
    ],
    ids=["unreachable-remote", "unknown-branch", "missing-file"],
)
def test_git_source_failures_are_outside_failures(repo: Path, tmp_path: Path, remote: str, branch: str, pin_path: str, expected: str) -> None:
    url = remote.format(tmp=tmp_path, repo=repo)
    source = GitPinSource(url, branch=branch, pin_path=pin_path, mirror_path=tmp_path / "mirror")
    with pytest.raises(OutsideSystemError, match=expected):
        source.read()


def test_fetch_errors_do_not_repeat_credentials(tmp_path: Path) -> None:
    url = f"file://user:s3cret@localhost{tmp_path}/nowhere"
    source = GitPinSource(url, branch="main", pin_path="models/production.yaml", mirror_path=tmp_path / "mirror")
    with pytest.raises(OutsideSystemError) as err:
        source.read()
    assert "s3cret" not in err.value.message and "git fetch" in err.value.message
