"""`mlpin report post`: the uploaded folder is data that PR code wrote. A real `candidate`
run on the in-memory registry builds it, each test tampers with it, and the post goes to
the fake GitHub API (or, through the CLI, the local forge)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.adapters.github import GitHubForge
from pipelines.adapters.localforge import LocalForge
from pipelines.cli import main
from pipelines.core.errors import InvalidInput
from pipelines.core.report import COMMENT_LIMIT, render_candidate
from pipelines.core.stage_results import CandidateReport
from pipelines.stages.candidate import candidate
from pipelines.stages.post import post_run
from pipelines.stages.train import train
from tests.fakes.github_api import FakeGitHub
from tests.fakes.registry import MemoryRegistry
from tests.helpers import commit_all, ctx, edit_yaml, entry, git, pin
from tests.stages.helpers import MODEL


def _branch(repo: Path, registry: MemoryRegistry, *, strict: bool = False) -> None:
    pin(repo, **{MODEL: entry(train(ctx(repo, registry=registry), MODEL))})
    git(repo, "checkout", "-q", "-b", "change")
    changes: dict = {"estimator": {"kind": "logistic_regression", "params": {"C": 0.5}}}
    if strict:  # a policy no candidate passes: the run is blocked
        text = (repo / "policies/promotion.yaml").read_text().replace("min_eval_rows: 30", "min_eval_rows: 10000")
        (repo / "policies/strict.yaml").write_text(text)
        changes["policy"] = "strict"
    edit_yaml(repo / f"models/{MODEL}.yaml", **changes)
    commit_all(repo, "change the model")


def _run(repo: Path, registry: MemoryRegistry, fake_github: FakeGitHub | None = None, **kw) -> tuple[Path, str]:
    _branch(repo, registry, **kw)
    out_dir = repo / "candidate-report"
    result = candidate(ctx(repo, registry=registry), base="main", pr="7", out_dir=out_dir)
    assert result.sha
    if fake_github is not None:
        fake_github.heads[7] = result.sha
    return out_dir, result.sha


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _nothing_posted(fake_github: FakeGitHub) -> bool:
    return fake_github.comments.get(7, []) == [] and fake_github.statuses == {}


@pytest.fixture
def blocked(git_repo: Path, registry: MemoryRegistry, fake_github: FakeGitHub) -> tuple[Path, str]:
    return _run(git_repo, registry, fake_github, strict=True)


@pytest.fixture
def passed(git_repo: Path, registry: MemoryRegistry, fake_github: FakeGitHub) -> tuple[Path, str]:
    return _run(git_repo, registry, fake_github)


def test_a_forged_green_status_on_a_blocked_run_is_derived_failure(git_repo: Path, blocked, fake_github: FakeGitHub,
                                                                  github_forge: GitHubForge) -> None:
    out_dir, sha = blocked

    def forge_green(summary: dict) -> None:
        summary.update(status="success", description="passed: wine_logreg")
        summary["outcomes"][0]["outcome"] = "passed"

    _edit(out_dir / "summary.json", forge_green)
    _edit(out_dir / MODEL / "candidate.json", lambda report: report["decision"].update(outcome="passed"))
    post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=sha)
    status = fake_github.statuses[sha][-1]
    assert (status["state"], status["description"]) == ("failure", "blocked: wine_logreg")
    (comment,) = fake_github.comments[7]
    assert "### ❌ wine_logreg (unregistered): blocked" in comment["body"]


def test_the_posted_comment_is_rendered_from_candidate_json_never_the_prs_markdown(
    git_repo: Path, passed, fake_github: FakeGitHub, github_forge: GitHubForge
) -> None:
    out_dir, sha = passed
    md = out_dir / MODEL / "candidate.md"
    md.write_text(md.read_text() + "\ncc @org/team <img src=x onerror=alert(1)> [click](https://evil.example)\n")
    post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=sha)
    (comment,) = fake_github.comments[7]
    report = CandidateReport.model_validate_json((out_dir / MODEL / "candidate.json").read_text())
    assert comment["body"] == render_candidate(report)
    assert "@org/team" not in comment["body"] and "<img" not in comment["body"]


def test_text_in_candidate_json_cannot_ping_link_or_inject_html(git_repo: Path, passed, fake_github: FakeGitHub,
                                                                github_forge: GitHubForge) -> None:
    out_dir, sha = passed

    def hostile(report: dict) -> None:
        report["reasons"] = ["ping @org/team <img src=x> see [here](https://evil.example) #12"]
        report["decision"]["gates"][0]["reason"] = "a\n\n@admin | <script>"

    _edit(out_dir / MODEL / "candidate.json", hostile)
    post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=sha)
    body = fake_github.comments[7][0]["body"]
    for raw in ("@org/team", "@admin", "<img", "<script", "](https://", "https://evil", " #12"):
        assert raw not in body, raw
    assert "@\u200dorg/team" in body  # still readable


@pytest.mark.parametrize("tamper", ["thirty", "unknown", "second_bad"], ids=["30 outcomes", "unknown model",
                                                                             "valid then bad"])
def test_outcomes_for_models_the_default_branch_lacks_post_nothing(git_repo: Path, passed, fake_github: FakeGitHub,
                                                                   github_forge: GitHubForge, tamper: str) -> None:
    out_dir, sha = passed

    def add(summary: dict) -> None:
        good = summary["outcomes"][0]
        names = {"thirty": [f"fake{i}" for i in range(30)], "unknown": ["ghost"], "second_bad": ["diabetes_hgb"]}
        for name in names[tamper]:  # diabetes_hgb exists, but its candidate.json does not
            summary["outcomes"].append({**good, "model": name, "marker": f"<!-- mlpin:candidate:{name} -->"})

    _edit(out_dir / "summary.json", add)
    with pytest.raises(InvalidInput, match="refusing to post anything") as caught:
        post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=sha)
    assert _nothing_posted(fake_github)
    text = "\n".join(caught.value.lines())
    assert {"thirty": "fake29", "unknown": "'ghost' is not defined", "second_bad": "diabetes_hgb/candidate.json"}[
        tamper] in text


def test_thirty_outcomes_through_the_cli_exit_2_and_post_nothing(git_repo: Path, registry: MemoryRegistry,
                                                                 capsys) -> None:
    out_dir, _ = _run(git_repo, registry)

    def thirty(summary: dict) -> None:
        good = summary["outcomes"][0]
        summary["outcomes"] += [{**good, "model": f"m{i}", "marker": f"<!-- mlpin:candidate:m{i} -->"}
                                for i in range(30)]

    _edit(out_dir / "summary.json", thirty)
    assert main(["report", "post", "--from", str(out_dir), "--repo", str(git_repo)]) == 2
    assert "refusing to post anything" in capsys.readouterr().err
    assert LocalForge(git_repo).comments("7") == []


@pytest.mark.parametrize(("expect", "sha", "message"), [
    ("", "keep", "--expect-sha: is empty"),
    ("a" * 40, None, "reports on commit None"),
], ids=["empty expect-sha", "null sha"])
def test_the_head_check_cannot_be_switched_off(git_repo: Path, passed, fake_github: FakeGitHub,
                                               github_forge: GitHubForge, expect: str, sha, message: str) -> None:
    out_dir, _ = passed
    if sha is None:
        _edit(out_dir / "summary.json", lambda summary: summary.update(sha=None))
    with pytest.raises(InvalidInput, match=message):
        post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=expect)
    assert _nothing_posted(fake_github)


def test_a_summary_that_is_not_utf8_is_exit_2_with_a_message(git_repo: Path, registry: MemoryRegistry,
                                                             capsys) -> None:
    out_dir, _ = _run(git_repo, registry)
    (out_dir / "summary.json").write_bytes(b'{"pr": "\xff\xfe"}')
    assert main(["report", "post", "--from", str(out_dir), "--repo", str(git_repo)]) == 2
    err = capsys.readouterr().err
    assert "summary.json: is not UTF-8 text" in err and "Traceback" not in err


def test_a_huge_error_is_cut_to_githubs_limit_with_a_pointer_and_cannot_escape_its_block(
    git_repo: Path, passed, fake_github: FakeGitHub, github_forge: GitHubForge
) -> None:
    out_dir, sha = passed

    def error(summary: dict) -> None:
        summary["outcomes"][0].update(outcome="error", kind="invalid_input",
                                      lines=["```", "@org/team <img src=x>", "x" * 100_000])

    _edit(out_dir / "summary.json", error)
    post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=sha)
    body = fake_github.comments[7][0]["body"]
    assert len(body) <= COMMENT_LIMIT
    assert "`wine_logreg/candidate.md` in this workflow run's artifact `candidate-report`" in body
    fences = [line for line in body.splitlines() if line.startswith("```")]
    assert fences == ["```text", "```"], "the PR's text stays inside one code block, where nothing pings"
    assert fake_github.statuses[sha][-1]["state"] == "error"


def test_a_summary_with_fields_mlpin_never_writes_is_refused(git_repo: Path, passed, fake_github: FakeGitHub,
                                                             github_forge: GitHubForge) -> None:
    out_dir, sha = passed
    _edit(out_dir / "summary.json", lambda summary: summary.update(state="success"))
    with pytest.raises(InvalidInput, match="summary.json: state"):
        post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=sha)
    assert _nothing_posted(fake_github)


@pytest.mark.parametrize(("files", "posted"), [(["models/wine_copy.yaml"], True), (["README.md"], False)],
                         ids=["the-pr-adds-the-spec", "a-name-the-pr-does-not-add"])
def test_a_model_the_pr_adds_is_known_by_the_forges_list_of_its_files(
    git_repo: Path, registry: MemoryRegistry, fake_github: FakeGitHub, github_forge: GitHubForge,
    files: list[str], posted: bool,
) -> None:
    git(git_repo, "checkout", "-q", "-b", "add-model")
    spec = (git_repo / f"models/{MODEL}.yaml").read_text().replace(f"name: {MODEL}", "name: wine_copy")
    (git_repo / "models/wine_copy.yaml").write_text(spec)
    commit_all(git_repo, "add a model")
    out_dir = git_repo.parent / "candidate-report"
    result = candidate(ctx(git_repo, registry=registry), base="main", pr="7", out_dir=out_dir)
    assert [o.model for o in result.outcomes] == ["wine_copy"]
    git(git_repo, "checkout", "-q", "main")  # the post job runs on the default branch, which lacks the spec
    fake_github.heads[7], fake_github.files[7] = result.sha, files
    if posted:
        post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=result.sha)
        (comment,) = fake_github.comments[7]
        assert comment["body"].startswith("<!-- mlpin:candidate:wine_copy -->")
    else:
        with pytest.raises(InvalidInput, match="'wine_copy' is not defined on this branch"):
            post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=result.sha)
        assert _nothing_posted(fake_github)


def test_each_model_gets_its_own_status_and_a_blocked_one_is_never_hidden(git_repo: Path, passed,
                                                                         fake_github: FakeGitHub,
                                                                         github_forge: GitHubForge) -> None:
    """wine_logreg passes; a second model of the branch (diabetes_hgb) has a failed gate: its own
    context says failure, the rollup too, and wine_logreg's says success."""
    out_dir, sha = passed
    other = "diabetes_hgb"
    report = json.loads((out_dir / MODEL / "candidate.json").read_text())
    report["model"] = other
    report["decision"]["gates"][0]["status"] = "failed"  # the files claim nothing: the gates decide
    (out_dir / other).mkdir()
    (out_dir / other / "candidate.json").write_text(json.dumps(report))

    def add(summary: dict) -> None:
        summary["outcomes"].append({**summary["outcomes"][0], "model": other,
                                    "marker": f"<!-- mlpin:candidate:{other} -->"})

    _edit(out_dir / "summary.json", add)
    post_run(ctx(git_repo, forge=github_forge), out_dir, expect_sha=sha)
    latest = {s["context"]: (s["state"], s["description"]) for s in fake_github.statuses[sha]}
    assert latest == {
        f"mlpin/candidate/{MODEL}": ("success", f"passed: {MODEL}"),
        f"mlpin/candidate/{other}": ("failure", f"blocked: {other}"),
        "mlpin/candidate": ("failure", f"blocked: {other}"),
    }
    pages = ("GET", f"/repos/{fake_github.repository}/issues/7/comments")
    assert fake_github.requests.count(pages) == 1, "the comments are read once, not once per model"
