"""Pin readers against real files and real git remotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.pinreader import FilePinReader, GitHubPinReader, GitPinReader
from pipelines.core.errors import OutsideSystemError
from tests.fakes.github_api import FakeGitHubWithFiles
from tests.helpers import commit_all, git


def test_file_reader_reads_text_and_a_content_revision(tmp_path: Path) -> None:
    pin = tmp_path / "production.yaml"
    pin.write_text("schema_version: 1\nmodels: {}\n")
    first = FilePinReader(pin).read()
    pin.write_text("schema_version: 1\nmodels: {}\n# changed\n")
    second = FilePinReader(pin).read()
    assert first.text.startswith("schema_version: 1")
    assert first.revision.startswith("sha256:") and first.revision != second.revision


def test_missing_file_is_an_outside_failure(tmp_path: Path) -> None:
    with pytest.raises(OutsideSystemError, match="cannot read"):
        FilePinReader(tmp_path / "nope.yaml").read()


def test_git_reader_follows_the_branch_tip_and_reports_the_commit(repo: Path, tmp_path: Path) -> None:
    reader = GitPinReader(str(repo), branch="main", pin_path="models/production.yaml", mirror_path=tmp_path / "mirror")
    first = reader.read()
    assert first.revision == git(repo, "rev-parse", "HEAD")
    assert "models: {}" in first.text
    (repo / "models/production.yaml").write_text("schema_version: 1\nmodels: {}\n# promoted\n")
    head = commit_all(repo, "promote")
    git(repo, "checkout", "-q", "-b", "elsewhere")
    (repo / "models/production.yaml").write_text("not on main\n")
    commit_all(repo, "other branch")
    second = reader.read()
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
def test_git_reader_failures_are_outside_failures(
    repo: Path, tmp_path: Path, remote: str, branch: str, pin_path: str, expected: str
) -> None:
    url = remote.format(tmp=tmp_path, repo=repo)
    reader = GitPinReader(url, branch=branch, pin_path=pin_path, mirror_path=tmp_path / "mirror")
    with pytest.raises(OutsideSystemError, match=expected):
        reader.read()


def test_fetch_errors_do_not_repeat_credentials(tmp_path: Path) -> None:
    url = f"file://user:s3cret@localhost{tmp_path}/nowhere"
    reader = GitPinReader(url, branch="main", pin_path="models/production.yaml", mirror_path=tmp_path / "mirror")
    with pytest.raises(OutsideSystemError) as err:
        reader.read()
    assert "s3cret" not in err.value.message and "git fetch" in err.value.message


@pytest.fixture
def github_files():
    server = FakeGitHubWithFiles(
        branches={"main": "1" * 40}, files={("1" * 40, "models/production.yaml"): "schema_version: 1\nmodels: {}\n"}
    ).start()
    yield server
    server.stop()


def github_reader(server: FakeGitHubWithFiles, *, token: str | None = None, branch: str = "main") -> GitHubPinReader:
    return GitHubPinReader(
        server.repository,
        branch=branch,
        pin_path="models/production.yaml",
        token=token or server.token,
        base_url=server.base_url,
    )


def test_github_reader_reads_the_pin_at_the_branch_tip(github_files: FakeGitHubWithFiles) -> None:
    reader = github_reader(github_files)
    assert (reader.read().text, reader.read().revision) == ("schema_version: 1\nmodels: {}\n", "1" * 40)
    github_files.branches["main"] = "2" * 40
    github_files.files[("2" * 40, "models/production.yaml")] = "schema_version: 1\nmodels: {}\n# promoted\n"
    second = reader.read()
    assert (second.revision, second.text.endswith("# promoted\n")) == ("2" * 40, True)


@pytest.mark.parametrize(
    ("token", "branch", "expected"),
    [("wrong", "main", "401 Bad credentials"), (None, "main@gone", "404 Not Found"), (None, "release", "422")],
    ids=["bad-token", "missing-file", "unknown-branch"],
)
def test_github_reader_failures_are_outside_failures(
    github_files: FakeGitHubWithFiles, token, branch: str, expected: str
) -> None:
    if branch == "main@gone":
        github_files.files.clear()
        branch = "main"
    with pytest.raises(OutsideSystemError, match=expected) as err:
        github_reader(github_files, token=token, branch=branch).read()
    assert err.value.system == "github"


def test_an_unreachable_github_is_an_outside_failure(github_files: FakeGitHubWithFiles) -> None:
    reader = github_reader(github_files)
    github_files.stop()
    with pytest.raises(OutsideSystemError, match="ConnectionError") as err:
        reader.read()
    assert err.value.system == "github"


def test_a_credential_in_an_http_url_is_sent_as_a_header_never_on_a_command_line(
    tmp_path: Path, monkeypatch
) -> None:
    import base64

    from tests.helpers import RefusingServer, record_git_argvs

    argvs = record_git_argvs(monkeypatch)
    with RefusingServer(404) as server:
        url = f"http://user:s3cr%40t@{server.url.removeprefix('http://')}/models.git"
        reader = GitPinReader(url, branch="main", pin_path="models/production.yaml", mirror_path=tmp_path / "mirror")
        with pytest.raises(OutsideSystemError) as err:
            reader.read()
    headers = server.headers
    port = server.server.server_address[1]
    assert "s3cr" not in err.value.message
    fetch = next(argv for argv in argvs if "fetch" in argv)
    assert not any("s3cr" in arg for arg in fetch) and f"127.0.0.1:{port}/models.git" in fetch[-2]
    assert f"Basic {base64.b64encode(b'user:s3cr@t').decode()}" in headers  # the server still got the credential
