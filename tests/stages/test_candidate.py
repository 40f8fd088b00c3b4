"""`mlpin candidate`: real git branches, the fake_github GitHub API, and the in-memory registry;
through the CLI (which builds its own registry), real MLflow on SQLite."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters.github import GitHubForge
from pipelines.adapters.localforge import LocalForge
from pipelines.adapters.registry import Registry
from pipelines.cli import main
from pipelines.core.errors import NotFound
from pipelines.core.markers import NO_MODEL_MARKER, candidate_marker
from pipelines.stages.candidate import candidate
from pipelines.stages.post import post_run
from pipelines.stages.train import train
from tests.fakes.github_api import FakeGitHub
from tests.fakes.registry import MemoryRegistry
from tests.helpers import commit_all, ctx, edit_yaml, entry, git, pin
from tests.stages.helpers import MODEL


def pin_v1_and_branch(repo: Path, *, registry: MemoryRegistry | None = None) -> Path:
    """main pins wine_logreg v1 (trained into `registry`, default MLflow); HEAD is a fresh branch off main."""
    pin(repo, **{MODEL: entry(train(ctx(repo, registry=registry), MODEL))})
    git(repo, "checkout", "-q", "-b", "change")
    return repo


@pytest.fixture
def pinned(git_repo: Path, registry: MemoryRegistry) -> Path:
    """main pins wine_logreg v1 in the injected registry; HEAD is a fresh branch off main."""
    return pin_v1_and_branch(git_repo, registry=registry)


@pytest.fixture
def pinned_in_mlflow(repo: Path) -> Path:
    """The same in MLflow, for tests through the CLI."""
    return pin_v1_and_branch(repo)


def push(repo: Path, message: str, **spec_changes) -> None:
    edit_yaml(repo / f"models/{MODEL}.yaml", **spec_changes)
    commit_all(repo, message)


def run(repo: Path, forge, *, registry: MemoryRegistry, pr: str = "7"):
    """Compute, then post from the written files: the two halves of the workflow."""
    out_dir = repo / ".mlpin" / "candidate"
    result = candidate(ctx(repo, registry=registry), base="main", pr=pr, out_dir=out_dir)
    post_run(ctx(repo, forge=forge), out_dir, expect_sha=result.sha)
    return result


def test_comment_is_created_then_updated_in_place_after_a_second_push(pinned: Path, registry: MemoryRegistry,
                                                                      fake_github: FakeGitHub,
                                                                      github_forge: GitHubForge) -> None:
    push(pinned, "tune C", estimator={"kind": "logistic_regression", "params": {"C": 0.5}})
    fake_github.heads[7] = git(pinned, "rev-parse", "HEAD")
    first = run(pinned, github_forge, registry=registry)
    assert [o.outcome for o in first.outcomes] == ["passed"]
    (comment,) = fake_github.comments[7]
    assert comment["body"].startswith(candidate_marker(MODEL))
    assert "### ✅ wine_logreg (unregistered): passed" in comment["body"]
    assert "**0 of 13 features drifted (0%); dataset not drifted**" in comment["body"]  # same data: no drift
    assert fake_github.statuses[first.sha][-1]["state"] == "success"
    first_id, first_body = comment["id"], comment["body"]

    push(pinned, "tune C again", estimator={"kind": "logistic_regression", "params": {"C": 0.2}})
    fake_github.heads[7] = git(pinned, "rev-parse", "HEAD")
    second = run(pinned, github_forge, registry=registry)
    (updated,) = fake_github.comments[7]
    assert updated["id"] == first_id and updated["body"] != first_body
    assert f"`{second.sha[:12]}`" in updated["body"], "the new push's lineage"
    assert fake_github.statuses[second.sha][-1]["context"] == "mlpin/candidate"
    report = json.loads((pinned / ".mlpin/candidate/wine_logreg/candidate.json").read_text())
    assert report["evaluation"]["production"]["version"] == 1


def test_blocked_candidate_lists_every_failed_gate_and_exits_4(pinned_in_mlflow: Path, fake_github: FakeGitHub,
                                                               monkeypatch, capsys) -> None:
    edit_yaml(pinned_in_mlflow / "policies/promotion.yaml",
              metrics=[{"metric": "accuracy", "min": 0.999}, {"metric": "log_loss", "max": 0.001}])
    commit_all(pinned_in_mlflow, "stricter policy")
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.token)
    monkeypatch.setenv("GITHUB_REPOSITORY", fake_github.repository)
    monkeypatch.setenv("GITHUB_API_URL", fake_github.base_url)
    fake_github.heads[7] = git(pinned_in_mlflow, "rev-parse", "HEAD")
    code = main(["candidate", "--base", "main", "--pr", "7", "--repo", str(pinned_in_mlflow), "-q"])
    out = capsys.readouterr().out
    assert code == 4
    assert (
        "BLOCKED wine_logreg: blocked: 2 gates failed: accuracy 0.9778 misses >= 0.999; log_loss 0.0744 misses <= 0.001"
        in out
    )
    body = fake_github.comments[7][0]["body"]
    assert "Trained because: promotion policy changed." in body
    assert body.count("❌ failed") == 2
    head = git(pinned_in_mlflow, "rev-parse", "HEAD")
    assert fake_github.statuses[head][-1]["state"] == "failure"
    with pytest.raises(NotFound):  # a pull request's candidate is never registered, blocked or not
        Registry(pinned_in_mlflow).version_tags(MODEL, 2)


def test_first_model_with_no_production(git_repo: Path, registry: MemoryRegistry) -> None:
    git(git_repo, "checkout", "-q", "-b", "first")
    push(git_repo, "first model", description="first ever")
    forge = LocalForge(git_repo)
    result = run(git_repo, forge, registry=registry, pr="first")
    assert [o.outcome for o in result.outcomes] == ["passed"]
    body = forge.comments("first")[0].read_text()
    assert "| f1_weighted vs production | – | >= -0.01 | ➖ n/a | no production model to compare with |" in body
    assert "_no production model is pinned yet, so there is no production training data to compare with._" in body


def test_drift_on_shifted_data_found_against_productions_data_from_git_history(pinned: Path,
                                                                               registry: MemoryRegistry) -> None:
    frame = pd.read_csv(pinned / "data/wine.csv")
    frame["proline"] = frame["proline"] * 1.8
    frame["magnesium"] = frame["magnesium"] + 25
    content = frame.to_csv(index=False, lineterminator="\n").encode()
    (pinned / "data/wine.csv").write_bytes(content)
    edit_yaml(pinned / "data/wine.yaml", sha256=hashlib.sha256(content).hexdigest())
    commit_all(pinned, "new wine data")
    forge = LocalForge(pinned)
    result = run(pinned, forge, registry=registry)
    (body_path,) = forge.comments("7")
    body = body_path.read_text()
    assert "Trained because: data pointer changed; data file changed." in body
    assert "**2 of 13 features drifted (15%); dataset not drifted**" in body
    assert "Most drifted: `magnesium`" in body or "Most drifted: `proline`" in body
    assert "compared with data/wine.yaml at" in body  # production's data came from git history
    report = json.loads((pinned / ".mlpin/candidate/wine_logreg/candidate.json").read_text())
    assert sorted(f["column"] for f in report["drift"]["features"] if f["drifted"]) == ["magnesium", "proline"]
    page = (pinned / ".mlpin/candidate/wine_logreg/drift.html").read_text()
    verdicts = dict(re.findall(r"<tr><td>(\w+)</td>.*?<td class=\"(drift|ok)\">", page))
    assert len(verdicts) == 13 and sorted(c for c, v in verdicts.items() if v == "drift") == ["magnesium", "proline"]
    assert result.outcomes[0].outcome == "passed"  # 15% drifted is under the policy's 30%


def test_change_that_affects_no_model(pinned: Path, registry: MemoryRegistry) -> None:
    (pinned / "README.md").write_text("docs\n")
    commit_all(pinned, "docs only")
    forge = LocalForge(pinned)
    result = run(pinned, forge, registry=registry)
    assert result.status == "success"
    assert "### mlpin: no model affected" in forge.comments("7")[0].read_text()
    assert len(registry.versions[MODEL]) == 1, "nothing trained"


def test_a_model_that_cannot_be_evaluated_gets_an_error_comment(pinned_in_mlflow: Path, capsys) -> None:
    push(pinned_in_mlflow, "typo", estimator={"kind": "logistic_regression", "params": {"Cee": 1}})
    code = main(["candidate", "--base", "main", "--pr", "7", "--repo", str(pinned_in_mlflow), "-q"])
    assert code == 2
    body = LocalForge(pinned_in_mlflow).comments("7")[0].read_text()
    assert "### ⚠️ wine_logreg: not evaluated" in body
    assert "estimator.params.Cee: unknown hyperparameter for LogisticRegression" in body
    head = git(pinned_in_mlflow, "rev-parse", "HEAD")
    assert LocalForge(pinned_in_mlflow).statuses(head)["mlpin/candidate"]["state"] == "error"


def test_invalid_committed_files_set_an_error_status_and_exit_2(pinned_in_mlflow: Path, capsys) -> None:
    (pinned_in_mlflow / "policies/promotion.yaml").write_text("metrics: [\n")
    commit_all(pinned_in_mlflow, "broken policy")
    code = main(["candidate", "--base", "main", "--pr", "7", "--repo", str(pinned_in_mlflow), "-q"])
    assert code == 2
    assert "ERROR   (pull request): policies/promotion.yaml: 1 problem" in capsys.readouterr().out
    head = git(pinned_in_mlflow, "rev-parse", "HEAD")
    forge = LocalForge(pinned_in_mlflow)
    assert forge.statuses(head)["mlpin/candidate"]["state"] == "error"
    assert "### ⚠️ committed files: not evaluated" in forge.comments("7")[0].read_text()


def test_a_not_evaluated_comment_is_replaced_once_the_files_load_and_the_model_evaluates(
    pinned: Path, registry: MemoryRegistry, fake_github: FakeGitHub, github_forge: GitHubForge
) -> None:
    (pinned / "models/wine_logreg.yaml").write_text("name: wine_logreg\n  task: x\n")
    commit_all(pinned, "broken spec")
    fake_github.heads[7] = git(pinned, "rev-parse", "HEAD")
    assert run(pinned, github_forge, registry=registry).status == "error"
    assert "### ⚠️ committed files: not evaluated" in fake_github.comments[7][0]["body"]
    git(pinned, "checkout", "-q", "main", "--", "models/wine_logreg.yaml")
    push(pinned, "fixed and tuned", estimator={"kind": "logistic_regression", "params": {"C": 0.5}})
    fake_github.heads[7] = git(pinned, "rev-parse", "HEAD")
    fixed = run(pinned, github_forge, registry=registry)
    assert fixed.status == "success"
    pr_level, model = (c["body"] for c in fake_github.comments[7])
    assert pr_level.splitlines()[:2] == [NO_MODEL_MARKER, "### mlpin: see the comment of each model"]
    assert f"As of commit `{fixed.sha[:12]}`, this pull request affects wine_logreg" in pr_level
    assert "not evaluated" not in pr_level and "### ✅ wine_logreg (unregistered): passed" in model


def test_the_comment_of_a_model_the_pr_no_longer_affects_says_so(pinned: Path, registry: MemoryRegistry) -> None:
    push(pinned, "tune C", estimator={"kind": "logistic_regression", "params": {"C": 0.5}})
    forge = LocalForge(pinned)
    run(pinned, forge, registry=registry)
    git(pinned, "checkout", "-q", "main", "--", "models/wine_logreg.yaml")
    (pinned / "README.md").write_text("docs\n")
    commit_all(pinned, "undo the tuning, keep the docs")
    for _ in range(2):  # a rerun on the same commit changes nothing
        reverted = run(pinned, forge, registry=registry)
        model, pr_level = (path.read_text() for path in forge.comments("7"))
        assert model.splitlines()[:2] == [candidate_marker(MODEL), "### ➖ wine_logreg: no longer affected"]
        assert f"As of commit `{reverted.sha[:12]}`, this pull request changes nothing wine_logreg" in model
        assert "### mlpin: no model affected" in pr_level


def test_a_verdict_never_lands_in_a_comment_someone_else_planted(pinned: Path, registry: MemoryRegistry,
                                                                  fake_github: FakeGitHub,
                                                                  github_forge: GitHubForge) -> None:
    planted = f"{candidate_marker(MODEL)}\n### ✅ wine_logreg (unregistered): passed"
    fake_github.add_comment(7, planted, login="mallory")  # before mlpin's first comment
    strict = (pinned / "policies/promotion.yaml").read_text().replace("min_eval_rows: 30", "min_eval_rows: 10000")
    (pinned / "policies/strict.yaml").write_text(strict)
    push(pinned, "raise the bar", policy="strict")
    fake_github.heads[7] = git(pinned, "rev-parse", "HEAD")
    result = run(pinned, github_forge, registry=registry)
    # a rerun of the post job
    post_run(ctx(pinned, forge=github_forge), pinned / ".mlpin" / "candidate", expect_sha=result.sha)
    assert [o.outcome for o in result.outcomes] == ["blocked"]
    mallorys, mlpins = fake_github.comments[7]
    assert (mallorys["user"]["login"], mallorys["body"]) == ("mallory", planted), "never edited"
    assert mlpins["user"]["login"] == fake_github.login and mlpins["body"].startswith(candidate_marker(MODEL))
    assert "### ❌ wine_logreg (unregistered): blocked" in mlpins["body"]
    assert fake_github.statuses[result.sha][-1]["state"] == "failure"


def test_a_reply_quoting_an_mlpin_comment_survives_the_stale_comment_replacement(
    pinned: Path, registry: MemoryRegistry, fake_github: FakeGitHub, github_forge: GitHubForge
) -> None:
    push(pinned, "tune C", estimator={"kind": "logistic_regression", "params": {"C": 0.5}})
    fake_github.heads[7] = git(pinned, "rev-parse", "HEAD")
    result = run(pinned, github_forge, registry=registry)
    # Bob pastes mlpin's comment from another PR, marker and all, to ask about it here
    quoting = f"{candidate_marker('diabetes_hgb')}\n### ✅ diabetes_hgb v3: passed\n\nwhy did #5 pass with less?"
    fake_github.add_comment(7, quoting, login="bob")
    # the post job runs again
    post_run(ctx(pinned, forge=github_forge), pinned / ".mlpin" / "candidate", expect_sha=result.sha)
    mlpins, bobs = fake_github.comments[7]
    assert (bobs["user"]["login"], bobs["body"]) == ("bob", quoting), "a person's comment is never replaced"
    assert "### ✅ wine_logreg (unregistered): passed" in mlpins["body"]


def test_post_refuses_reports_for_another_commit_or_pr_head(pinned: Path, registry: MemoryRegistry, fake_github,
                                                            github_forge) -> None:
    import pytest

    from pipelines.core.errors import InvalidInput

    (pinned / "README.md").write_text("docs\n")
    commit_all(pinned, "docs only")
    out_dir = pinned / ".mlpin" / "candidate"
    result = candidate(ctx(pinned, registry=registry), base="main", pr="7", out_dir=out_dir)
    with pytest.raises(InvalidInput, match="but this workflow run is for"):
        post_run(ctx(pinned, forge=github_forge), out_dir, expect_sha="b" * 40)
    fake_github.heads[7] = "c" * 40  # the PR moved on, or the summary names someone else's PR
    with pytest.raises(InvalidInput, match="PR #7 is at cccccccccccc"):
        post_run(ctx(pinned, forge=github_forge), out_dir, expect_sha=result.sha)
    fake_github.heads[7] = result.sha
    summary = json.loads((out_dir / "summary.json").read_text())
    summary["outcomes"][0]["model"] = "../../models/production.yaml"
    (out_dir / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(InvalidInput, match="refusing to post"):
        post_run(ctx(pinned, forge=github_forge), out_dir, expect_sha=result.sha)
    assert fake_github.comments.get(7, []) == [] and fake_github.statuses == {}


def test_no_post_writes_files_only_and_report_post_publishes_them(pinned_in_mlflow: Path, capsys) -> None:
    push(pinned_in_mlflow, "tune C", estimator={"kind": "logistic_regression", "params": {"C": 0.5}})
    out = pinned_in_mlflow / "report"
    args = ["--base", "main", "--pr", "7", "--repo", str(pinned_in_mlflow), "--out", str(out), "--no-post", "-q"]
    assert main(["candidate", *args]) == 0
    assert LocalForge(pinned_in_mlflow).comments("7") == []
    assert (out / "wine_logreg" / "candidate.md").is_file()
    assert main(["report", "post", "--from", str(out), "--repo", str(pinned_in_mlflow)]) == 0
    assert capsys.readouterr().out.splitlines()[-3].startswith("posted 1 comment(s) on PR 7")
    posted = LocalForge(pinned_in_mlflow).comments("7")[0]
    assert posted.read_text() == (out / "wine_logreg" / "candidate.md").read_text()


class _BrokenFor:
    """A registry, except that building `model`'s artifact hits a bug (an untranslated exception)."""

    def __init__(self, registry, model: str) -> None:
        self._registry, self._model = registry, model

    def __getattr__(self, name: str):
        return getattr(self._registry, name)

    def artifact_digest_of(self, entry):
        if entry.model == self._model:
            raise RuntimeError("boom")
        return self._registry.artifact_digest_of(entry)


def test_a_bug_in_one_model_is_reported_for_it_and_the_others_are_still_assessed(git_repo: Path,
                                                                                  registry: MemoryRegistry,
                                                                                  caplog) -> None:
    from pipelines.core.outcome import Kind

    git(git_repo, "checkout", "-q", "-b", "two")
    edit_yaml(git_repo / "models/wine_logreg.yaml", description="changed")
    edit_yaml(git_repo / "models/diabetes_hgb.yaml", description="changed")
    commit_all(git_repo, "touch two models")
    out_dir = git_repo / ".mlpin" / "candidate"
    run = candidate(ctx(git_repo, registry=_BrokenFor(registry, "wine_logreg")), base="main", pr="7", out_dir=out_dir)
    outcomes = {o.model: o for o in run.outcomes}
    assert (outcomes["wine_logreg"].outcome, outcomes["wine_logreg"].kind) == ("error", Kind.BUG)
    assert "RuntimeError: boom" in outcomes["wine_logreg"].headline
    assert (outcomes["diabetes_hgb"].outcome, outcomes["diabetes_hgb"].kind) == ("passed", Kind.DONE)
    assert run.status == "error"
    body = (out_dir / "wine_logreg" / "candidate.md").read_text()
    assert body.startswith(candidate_marker("wine_logreg")) and "(a bug)" in body
    assert "RuntimeError: boom" in caplog.text  # the traceback is in the job log


def test_reports_written_inside_the_checkout_do_not_mark_later_models_dirty(git_repo: Path,
                                                                            registry: MemoryRegistry) -> None:
    # CI writes `--out candidate-report` inside its checkout, which git does not ignore.
    git(git_repo, "checkout", "-q", "-b", "two")
    edit_yaml(git_repo / "models/wine_logreg.yaml", description="changed")
    edit_yaml(git_repo / "models/diabetes_hgb.yaml", description="changed")
    commit_all(git_repo, "touch two models")
    run = candidate(ctx(git_repo, registry=registry), base="main", pr="7", out_dir=git_repo / "candidate-report")
    assert [o.outcome for o in run.outcomes] == ["passed", "passed"]
    reports = {m: json.loads((git_repo / "candidate-report" / m / "candidate.json").read_text())
               for m in ("wine_logreg", "diabetes_hgb")}
    assert {m: r["train"]["git_dirty"] for m, r in reports.items()} == {"wine_logreg": False, "diabetes_hgb": False}
