"""The git adapter against real repositories (and a bare `origin`) in tmp_path; fake
`git` scripts on PATH only for what a real git cannot be made to do (hang, be absent)."""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import pytest

from pipelines.adapters import git, gitwrite
from pipelines.adapters.workspace import load_workspace
from pipelines.core.affected import affected_models
from pipelines.core.errors import InvalidInput, OutsideSystemError
from tests.helpers import PROJECT, commit_all, edit_yaml
from tests.helpers import git as sh


def write(root: Path, path: str, text: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository whose main has one commit holding `pin.yaml`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    sh(repo, "init", "-q")
    write(repo, "pin.yaml", "v1\n")
    commit_all(repo, "initial")
    return repo


@pytest.fixture
def merged(root: Path) -> dict[str, str]:
    """main: A -> C -> M, where M merges branch `feature` (A -> B, which changes the pin)."""
    shas = {"A": sh(root, "rev-parse", "HEAD")}
    sh(root, "switch", "-q", "-c", "feature")
    write(root, "pin.yaml", "v2\n")
    shas["B"] = commit_all(root, "feature changes the pin")
    sh(root, "switch", "-q", "main")
    write(root, "data/a.yaml", "a\n")
    shas["C"] = commit_all(root, "main adds data")
    shas["base"] = sh(root, "merge-base", "main", "feature")
    sh(root, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    shas["M"] = sh(root, "rev-parse", "HEAD")
    return shas


@pytest.fixture
def origin(root: Path, tmp_path: Path) -> Path:
    """A bare `origin` holding root's main, and a second clone of it, `other`, to push from."""
    bare = tmp_path / "origin.git"
    sh(tmp_path, "init", "-q", "--bare", str(bare))
    sh(root, "remote", "add", "origin", str(bare))
    sh(root, "push", "-q", "origin", "main")
    sh(tmp_path, "clone", "-q", str(bare), str(tmp_path / "other"))
    return bare


def fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Put a `git` that runs `script` (sh) first on PATH."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(f"#!/bin/sh\n{script}\n")
    (bin_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_merge_base_is_where_the_branch_left_main(root: Path, merged: dict[str, str]) -> None:
    assert git.merge_base(root, merged["B"], merged["C"]) == merged["A"]


def test_parents_of_a_merge_commit_put_the_branch_it_landed_on_first(root: Path, merged: dict[str, str]) -> None:
    assert git.parents(root, merged["M"]) == [merged["C"], merged["B"]]
    assert git.first_parent(root, merged["M"]) == merged["C"]


def test_a_root_commit_has_no_parents(root: Path, merged: dict[str, str]) -> None:
    assert (git.parents(root, merged["A"]), git.first_parent(root, merged["A"])) == ([], None)


def test_merge_commit_of_finds_the_merge_of_a_head_on_the_first_parent_line(root: Path,
                                                                            merged: dict[str, str]) -> None:
    write(root, "later.txt", "x\n")
    commit_all(root, "main moves on after the merge")
    assert git.merge_commit_of(root, merged["B"]) == merged["M"], "not HEAD, which is a later commit"
    assert git.merge_commit_of(root, "feature", on="main") == merged["M"]
    assert git.merge_commit_of(root, merged["C"]) is None, "on the first-parent line, but never merged in"
    assert git.merge_commit_of(root, merged["A"]) is None


def test_is_ancestor(root: Path, merged: dict[str, str]) -> None:
    assert git.is_ancestor(root, merged["B"], merged["M"]) and git.is_ancestor(root, merged["M"], merged["M"])
    assert not git.is_ancestor(root, merged["M"], merged["B"])


def test_merging_a_head_already_in_the_base_is_refused(root: Path, merged: dict[str, str]) -> None:
    sh(root, "switch", "-q", "-c", "done", merged["A"])
    sh(root, "switch", "-q", "main")
    with pytest.raises(InvalidInput, match="done is already part of main, but not through a merge commit of its own"):
        gitwrite.merge_branch(root, head="done", base="main", message="merge")
    assert sh(root, "rev-parse", "HEAD") == merged["M"]


def test_diff_names_lists_every_changed_path(root: Path, merged: dict[str, str]) -> None:
    assert git.diff_names(root, merged["A"], merged["M"]) == ["data/a.yaml", "pin.yaml"]
    assert git.diff_names(root, merged["C"], merged["M"]) == ["pin.yaml"]


def _spaced_data(root: Path) -> None:
    """wine's data file moved, on main, to a path with a space (and quotes git would escape)."""
    sh(root, "switch", "-q", "main")
    sh(root, "mv", "data/wine.csv", 'data/wine "red" list.csv')
    edit_yaml(root / "data/wine.yaml", uri='data/wine "red" list.csv')
    commit_all(root, "wine data at a path with a space")
    sh(root, "switch", "-q", "-c", "spaced")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


# Each case changes the branch's work tree in one way; the model named must be affected,
# and no other (so a change is neither lost nor over-reported).
LOCAL_CHANGES = [
    ("committed", "wine_logreg", lambda r: (_append(r / "models/wine_logreg.yaml", "# tuned\n"), commit_all(r))),
    ("unstaged-spec", "wine_logreg", lambda r: _append(r / "models/wine_logreg.yaml", "# tuned\n")),
    ("unstaged-data-csv", "wine_logreg", lambda r: _append(r / "data/wine.csv", "\n")),
    ("staged", "diabetes_hgb", lambda r: (_append(r / "models/diabetes_hgb.yaml", "# x\n"), sh(r, "add", "-A"))),
    ("untracked-new-spec", "wine_copy",
     lambda r: (r / "models/wine_copy.yaml").write_text((r / "models/wine_logreg.yaml").read_text()
                                                         .replace("name: wine_logreg", "name: wine_copy"))),
    ("deleted-data-csv", "wine_logreg", lambda r: (r / "data/wine.csv").unlink()),
    ("staged-deletion", "breast_cancer_rf", lambda r: sh(r, "rm", "-q", "data/breast_cancer.csv")),
    ("renamed-data-csv", "wine_logreg", lambda r: sh(r, "mv", "data/wine.csv", "data/wine-old.csv")),
    ("renamed-then-committed", "wine_logreg",
     lambda r: (sh(r, "mv", "data/wine.csv", "data/wine-old.csv"), commit_all(r))),
    ("path-with-space", "wine_logreg",
     lambda r: (_spaced_data(r), _append(r / 'data/wine "red" list.csv', "\n"))),
]


@pytest.mark.parametrize(("model", "change"), [c[1:] for c in LOCAL_CHANGES], ids=[c[0] for c in LOCAL_CHANGES])
def test_every_local_change_counts(git_repo: Path, model: str, change) -> None:
    sh(git_repo, "switch", "-q", "-c", "feature")
    change(git_repo)
    changed = git.changed_paths(git_repo, "main")
    assert list(affected_models(load_workspace(git_repo), changed)) == [model], changed


def test_changes_made_on_base_after_the_branch_left_it_are_not_the_branchs(git_repo: Path) -> None:
    sh(git_repo, "switch", "-q", "-c", "feature")
    _append(git_repo / "models/wine_logreg.yaml", "# mine\n")
    commit_all(git_repo, "mine")
    sh(git_repo, "switch", "-q", "main")
    _append(git_repo / "models/diabetes_hgb.yaml", "# on main\n")
    commit_all(git_repo, "main moves on")
    sh(git_repo, "switch", "-q", "feature")
    assert git.changed_paths(git_repo, "main") == ["models/wine_logreg.yaml"]


def test_a_base_with_no_common_history_asks_for_the_full_history(root: Path) -> None:
    sh(root, "switch", "-q", "--orphan", "unrelated")
    write(root, "other.yaml", "x\n")
    commit_all(root, "unrelated history")
    with pytest.raises(InvalidInput, match="main and HEAD have no common ancestor here; fetch the full history"):
        git.changed_paths(root, "main")


def test_last_commit_touching_names_the_merge_on_the_first_parent_line(root: Path, merged: dict[str, str]) -> None:
    assert git.last_commit_touching(root, "pin.yaml") == merged["M"]
    assert git.last_commit_touching(root, "pin.yaml", first_parent=False) == merged["B"]
    assert git.last_commit_touching(root, "pin.yaml", ref=merged["C"]) == merged["A"]
    assert git.last_commit_touching(root, "never-there.yaml") is None


def test_path_history_is_oldest_first_with_committer(root: Path, merged: dict[str, str]) -> None:
    history = git.path_history(root, "pin.yaml")
    assert [c.sha for c in history] == [merged["A"], merged["M"]]
    assert {c.committer for c in history} == {"Test User"} and history[0].time[:2] == "20"


def test_committer_name_file_at_and_list_files(root: Path, merged: dict[str, str]) -> None:
    assert git.committer_name(root, merged["B"]) == "Test User"
    assert (git.file_at(root, merged["A"], "pin.yaml"), git.file_at(root, merged["B"], "pin.yaml")) == (
        b"v1\n",
        b"v2\n",
    )
    assert git.list_files(root, merged["M"], "data") == ["data/a.yaml"]
    with pytest.raises(OutsideSystemError, match="data/a.yaml.* not in"):
        git.file_at(root, merged["A"], "data/a.yaml")


def test_push_ref_publishes_and_remote_has_branch_asks_the_remote(root: Path, origin: Path) -> None:
    sh(root, "switch", "-q", "-c", "promote/m")
    write(root, "pin.yaml", "v3\n")
    head = commit_all(root, "promotion")
    assert not git.remote_has_branch(root, "promote/m")
    gitwrite.push_ref(root, "promote/m", "refs/heads/promote/m")
    assert git.remote_has_branch(root, "promote/m") and not git.remote_has_branch(root, "promote")
    assert sh(origin, "rev-parse", "refs/heads/promote/m") == head


def test_push_ref_refuses_to_rewrite_unless_forced(root: Path, origin: Path) -> None:
    before = sh(root, "rev-parse", "HEAD")
    sh(root, "commit", "-q", "--amend", "-m", "rewritten")
    with pytest.raises(OutsideSystemError, match="rejected"):
        gitwrite.push_ref(root, "main", "main")
    assert sh(origin, "rev-parse", "main") == before
    gitwrite.push_ref(root, "main", "main", force=True)
    assert sh(origin, "rev-parse", "main") == sh(root, "rev-parse", "HEAD")


def test_fetch_branch_then_fast_forward_brings_main_up_to_origin(root: Path, origin: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write(other, "data/b.yaml", "b\n")
    pushed = commit_all(other, "pushed elsewhere")
    sh(other, "push", "-q", "origin", "main")
    gitwrite.fetch_branch(root, "main")
    gitwrite.fast_forward(root, "origin/main")
    assert sh(root, "rev-parse", "HEAD") == pushed and (root / "data/b.yaml").exists()


def test_fetch_branch_into_follows_a_rewritten_branch(root: Path, origin: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    sh(other, "switch", "-q", "-c", "promote/m")
    write(other, "pin.yaml", "v4\n")
    first = commit_all(other, "promotion")
    sh(other, "push", "-q", "origin", "promote/m")
    gitwrite.fetch_branch(root, "promote/m", into="refs/remotes/origin/promote/m")
    sh(other, "commit", "-q", "--amend", "-m", "promotion, rebuilt")
    sh(other, "push", "-q", "--force", "origin", "promote/m")
    gitwrite.fetch_branch(root, "promote/m", into="refs/remotes/origin/promote/m")
    rebuilt = sh(other, "rev-parse", "HEAD")
    assert rebuilt != first and gitwrite.remote_tip(root, "promote/m") == rebuilt


def test_fast_forward_of_a_diverged_branch_asks_a_person(root: Path, origin: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write(other, "data/b.yaml", "b\n")
    commit_all(other, "pushed elsewhere")
    sh(other, "push", "-q", "origin", "main")
    write(root, "data/c.yaml", "c\n")
    mine = commit_all(root, "local only")
    gitwrite.fetch_branch(root, "main")
    with pytest.raises(InvalidInput, match="cannot fast-forward the checked-out branch to origin/main"):
        gitwrite.fast_forward(root, "origin/main")
    assert sh(root, "rev-parse", "HEAD") == mine


def test_network_commands_never_prompt_for_credentials(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_git(tmp_path, monkeypatch, 'echo "prompt=${GIT_TERMINAL_PROMPT-unset}"')
    assert git.run_git(root, "-c", "http.lowSpeedTime=30", "fetch", "origin") == "prompt=0"
    assert git.run_git(root, "status") == "prompt=unset"


def test_commit_file_changes_one_path_and_leaves_the_users_index(root: Path, merged: dict[str, str]) -> None:
    write(root, "staged.txt", "mine\n")
    sh(root, "add", "staged.txt")
    sha = gitwrite.commit_file(root, parent=merged["A"], path="pin.yaml", content="v9\n", message="set pin")
    assert git.parents(root, sha) == [merged["A"]] and git.diff_names(root, merged["A"], sha) == ["pin.yaml"]
    assert git.file_at(root, sha, "pin.yaml") == b"v9\n"
    assert sh(root, "diff", "--cached", "--name-only") == "staged.txt"


def test_commit_file_on_a_bad_parent_reports_gits_message(root: Path) -> None:
    with pytest.raises(
        OutsideSystemError, match=r"git read-tree no-such-commit failed: fatal: Not a valid object name"
    ):
        gitwrite.commit_file(root, parent="no-such-commit", path="pin.yaml", content="x\n", message="m")


def test_merge_conflict_is_for_a_person_and_is_aborted(root: Path) -> None:
    sh(root, "switch", "-q", "-c", "feature")
    write(root, "pin.yaml", "feature\n")
    commit_all(root, "feature")
    sh(root, "switch", "-q", "main")
    write(root, "pin.yaml", "main\n")
    commit_all(root, "main")
    with pytest.raises(InvalidInput, match="(?s)feature does not merge cleanly into main: .*CONFLICT"):
        gitwrite.merge_branch(root, head="feature", base="main", message="merge")
    assert not (root / ".git" / "MERGE_HEAD").exists() and not git.is_dirty(root)


def test_a_missing_git_binary_is_an_outside_failure(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for call in (lambda: git.head_commit(root), lambda: git.is_dirty(root),
                 lambda: gitwrite.commit_file(root, parent="HEAD", path="p", content="x", message="m")):
        with pytest.raises(OutsideSystemError, match="^git: the git command is not installed$"):
            call()


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(OutsideSystemError, match="cannot run git in .*nowhere"):
        git.head_commit(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("call", "constant", "expected"),
    [
        (lambda root: git.is_dirty(root), "LOCAL_TIMEOUT_S", "git status --porcelain failed: timed out after 0.3 s"),
        (lambda root: git.remote_has_branch(root, "main"), "NETWORK_TIMEOUT_S",
         "git ls-remote --heads origin refs/heads/main failed: timed out after 0.3 s"),
    ],
    ids=["local", "network"],
)
def test_a_hung_git_times_out_with_the_command_named(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     call, constant: str, expected: str) -> None:
    # sleep runs as a child of the script, holding the pipes, like git-remote-https would.
    fake_git(tmp_path, monkeypatch, "sleep 30; echo late")
    monkeypatch.setattr(git, constant, 0.3)
    started = time.monotonic()
    with pytest.raises(OutsideSystemError, match=expected):
        call(root)
    assert time.monotonic() - started < 10


def test_no_stage_runs_git_itself() -> None:
    banned = {"run_git", "git_bytes", "_run", "subprocess"}
    found = []
    for path in sorted((PROJECT / "pipelines" / "stages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                {a.name.split(".")[0] for a in node.names} if isinstance(node, (ast.Import, ast.ImportFrom)) else set()
            )
            names |= {node.module.split(".")[0]} if isinstance(node, ast.ImportFrom) and node.module else set()
            names |= {node.attr} if isinstance(node, ast.Attribute) else set()
            names |= {node.id} if isinstance(node, ast.Name) else set()
            found += [f"{path.name}:{node.lineno} {name}" for name in names & banned]
    assert found == []


def test_a_descendant_that_left_the_group_does_not_stretch_the_timeout(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. an ssh ControlPersist master: its own session, our pipes, not killed with git's group
    fake_git(tmp_path, monkeypatch, "setsid sleep 8 & sleep 30")
    monkeypatch.setattr(git, "LOCAL_TIMEOUT_S", 0.3)
    monkeypatch.setattr(git, "DRAIN_S", 0.5)
    started = time.monotonic()
    with pytest.raises(OutsideSystemError, match="timed out after 0.3 s"):
        git.is_dirty(root)
    assert time.monotonic() - started < 5


def test_the_repository_variables_of_a_calling_hook_do_not_redirect_git(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = sh(root, "rev-parse", "HEAD")
    write(root, "staged.txt", "mine\n")
    sh(root, "add", "staged.txt")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))  # what git exports to a hook it runs
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "their-index"))
    assert git.head_commit(root) == head
    gitwrite.commit_file(root, parent=head, path="pin.yaml", content="v1\n", message="pin")
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert sh(root, "diff", "--cached", "--name-only") == "staged.txt", "the user's index is untouched"


def test_a_merge_whose_hook_times_out_is_undone(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sh(root, "switch", "-q", "-c", "feature")
    write(root, "b.txt", "b\n")
    commit_all(root, "feature")
    sh(root, "switch", "-q", "main")
    hook = root / ".git" / "hooks" / "pre-merge-commit"
    hook.write_text("#!/bin/sh\nsleep 30\n")
    hook.chmod(0o755)
    monkeypatch.setattr(git, "HOOK_TIMEOUT_S", 0.5)
    with pytest.raises(OutsideSystemError, match="timed out"):
        gitwrite.merge_branch(root, head="feature", base="main", message="merge")
    assert not (root / ".git" / "MERGE_HEAD").exists() and not git.is_dirty(root)


def test_git_still_running_when_mlpin_is_terminated_is_ended(root: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    pid_file = tmp_path / "git.pid"
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    (bin_dir / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    code = "import sys; from pipelines.cli import main; sys.exit(main(['validate', '-q']))"
    mlpin = subprocess.Popen([sys.executable, "-c", code], cwd=root, env={**env, "PYTHONPATH": str(PROJECT)})
    deadline = time.monotonic() + 20
    while not (pid_file.is_file() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    git_pid = int(pid_file.read_text())
    mlpin.send_signal(signal.SIGTERM)  # a cancelled CI job
    assert mlpin.wait(timeout=10) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 5
    while _running(git_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(git_pid), "git, in its own session, must not outlive mlpin"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its parent (init) has yet to reap it


def test_a_push_token_goes_to_the_forge_as_a_header_never_on_a_command_line(tmp_path: Path, monkeypatch) -> None:
    """propose and rollback push with MLPIN_GIT_TOKEN: their checkout keeps no credential."""
    import base64
    import subprocess

    from tests.helpers import RefusingServer, record_git_argvs

    with RefusingServer(403) as forge:
        repo = tmp_path / "repo"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                        "--allow-empty", "-m", "one"], check=True)
        subprocess.run(["git", "-C", str(repo), "remote", "add", "origin", f"{forge.url}/acme/models.git"], check=True)
        argvs = record_git_argvs(monkeypatch)
        monkeypatch.setenv("MLPIN_GIT_TOKEN", "ghs_s3cret")
        monkeypatch.setenv("GITHUB_SERVER_URL", forge.url)
        with pytest.raises(OutsideSystemError):
            gitwrite.push_branch(repo, "main")
    assert f"Basic {base64.b64encode(b'x-access-token:ghs_s3cret').decode()}" in forge.headers
    assert not any("s3cret" in arg for argv in argvs for arg in argv)
    assert "s3cret" not in (repo / ".git" / "config").read_text()


def test_the_push_token_is_added_after_environment_config_already_set() -> None:
    found = git.token_env({"MLPIN_GIT_TOKEN": "t", "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory",
                           "GIT_CONFIG_VALUE_0": "*", "GITHUB_SERVER_URL": "https://ghe.example"})
    assert found["GIT_CONFIG_COUNT"] == "2" and found["GIT_CONFIG_KEY_1"] == "http.https://ghe.example/.extraHeader"
    assert "GIT_CONFIG_KEY_0" not in found, "the one already set is kept as it is"
    assert git.token_env({}) == {}
