"""`mlpin propose` is level-triggered: it makes each model's promotion PR match main,
whatever pushes it saw. A skipped run loses nothing, a stale PR is updated or closed, a
rolled-back spec is not proposed again, and what it promotes it built itself from the
merged commit, saying whether that matches what the pull request reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.localforge import LocalForge
from pipelines.adapters.pinlog import pins_at
from pipelines.core.lineage import tag
from pipelines.core.markers import candidate_marker
from pipelines.stages.candidate import candidate
from pipelines.stages.propose import propose
from tests.fakes.registry import MemoryRegistry
from tests.helpers import commit_all, ctx, edit_yaml, git
from tests.stages.helpers import MODEL, only_model

BRANCH = f"promote/{MODEL}"


@pytest.fixture(autouse=True)
def _one_model(git_repo: Path) -> None:
    only_model(git_repo)


def merge_tuning(repo: Path, forge: LocalForge, c: float, *, name: str | None = None, post: bool = False) -> str:
    """A PR that tunes C, merged into main through the local forge (its candidate comment
    posted first when `post`); returns the PR number."""
    branch = name or f"tune-{c}"
    git(repo, "checkout", "-q", "-b", branch, "main")
    edit_yaml(repo / f"models/{MODEL}.yaml", estimator={"kind": "logistic_regression", "params": {"C": c}})
    commit_all(repo, f"C={c}")
    pull = forge.open_pull(head=branch, base="main", title=f"C={c}", body="")
    if post:
        out = repo.parent / f"report-{branch}"
        candidate(ctx(repo, registry=MemoryRegistry(repo.parent / f"pr-registry-{branch}")), base="main",
                  pr=pull.number, out_dir=out)
        forge.upsert_comment(pull.number, candidate_marker(MODEL), (out / MODEL / "candidate.md").read_text())
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", f"merge {branch}", branch)
    forge.record_merge(pull.number, merge_commit=git(repo, "rev-parse", "HEAD"), approver="reviewer")
    return pull.number


def proposed_spec(repo: Path) -> str:
    return pins_at(repo, git(repo, "rev-parse", BRANCH)).models[MODEL].spec_hash


def test_a_run_that_never_happened_is_caught_up_by_the_next(git_repo: Path, registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    merge_tuning(git_repo, forge, 0.5)
    merge_tuning(git_repo, forge, 0.3)  # the run for the first push was cancelled, this one's too
    head = git(git_repo, "rev-parse", "HEAD")
    (git_repo / "NOTES.md").write_text("a later, unrelated push\n")
    commit_all(git_repo, "docs")
    run = propose(ctx(git_repo, registry=registry, forge=forge), before=git(git_repo, "rev-parse", "HEAD^"))
    (outcome,) = run.outcomes
    assert outcome.outcome == "proposed" and outcome.version == 1, "trained by propose itself, from main"
    assert registry.version_tags(MODEL, 1)[tag("judged_by")] == "propose"
    assert registry.version_tags(MODEL, 1)[tag("candidate_commit")] != head, "built from the commit it runs on"
    assert proposed_spec(git_repo) == registry.version_tags(MODEL, 1)[tag("spec_hash")]
    assert forge.statuses(git(git_repo, "rev-parse", "HEAD"))[f"mlpin/propose/{MODEL}"]["state"] == "success"


def test_a_stale_promotion_pr_is_updated_in_place_for_the_new_spec(git_repo: Path, registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    merge_tuning(git_repo, forge, 0.5)
    (first,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    old_spec = proposed_spec(git_repo)
    merge_tuning(git_repo, forge, 0.3)
    (second,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    assert (first.outcome, second.outcome) == ("proposed", "proposed")
    assert second.pr == first.pr and (first.version, second.version) == (1, 2)
    assert proposed_spec(git_repo) != old_spec
    assert forge.pull(second.pr).title == f"promote {MODEL} v2"


def test_a_stale_promotion_pr_is_closed_when_the_spec_at_main_is_blocked(git_repo: Path,
                                                                         registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    merge_tuning(git_repo, forge, 0.5)
    (first,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    strict = (git_repo / "policies/promotion.yaml").read_text().replace("min_eval_rows: 30", "min_eval_rows: 10000")
    (git_repo / "policies/strict.yaml").write_text(strict)
    edit_yaml(git_repo / f"models/{MODEL}.yaml", policy="strict")
    commit_all(git_repo, "raise the bar")
    (blocked,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    assert (blocked.outcome, blocked.closed) == ("blocked", first.pr)
    assert forge.pull(first.pr).state == "closed"
    (note,) = forge.comments(first.pr)
    assert "Closed by mlpin propose" in note.read_text() and "blocked" in note.read_text()
    (again,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    assert (again.outcome, again.closed) == ("blocked", None), "a rerun closes nothing more"
    assert len(forge.comments(first.pr)) == 1


def test_an_open_promotion_pr_is_closed_once_production_pins_the_spec_at_main(git_repo: Path,
                                                                              registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    merge_tuning(git_repo, forge, 0.5)
    (first,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    git(git_repo, "merge", "-q", "--no-ff", "-m", "merge the same pin by another route", BRANCH)
    (settled,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    assert (settled.outcome, settled.version, settled.closed) == ("in_production", 1, first.pr)
    assert forge.open_pull_for(BRANCH) is None


def test_a_rolled_back_spec_is_not_proposed_again(git_repo: Path, registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    merge_tuning(git_repo, forge, 0.5)
    (first,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    forge.record_merge(first.pr, merge_commit="0" * 40, approver="reviewer")
    git(git_repo, "merge", "-q", "--no-ff", "-m", "promote", BRANCH)
    git(git_repo, "revert", "--no-edit", "-m", "1", "HEAD")
    revert = git(git_repo, "rev-parse", "HEAD")
    (outcome,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    assert outcome.outcome == "rolled_back" and revert[:12] in outcome.headline
    assert forge.open_pull_for(BRANCH) is None and len(registry.versions[MODEL]) == 1
    merge_tuning(git_repo, forge, 0.3)
    (fresh,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    assert (fresh.outcome, fresh.version) == ("proposed", 2), "a new spec is proposed as usual"


def test_the_promotion_pr_says_the_rebuild_matches_what_the_pr_reported(git_repo: Path,
                                                                        registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    merge_tuning(git_repo, forge, 0.5, post=True)
    (outcome,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    body = forge.pull(outcome.pr).body
    assert "✅ Rebuilt by `mlpin propose` from the merged commit: the artifact digest and every metric match" in body


def test_the_promotion_pr_shows_where_the_rebuild_differs_and_ignores_lookalike_comments(
        git_repo: Path, registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    number = merge_tuning(git_repo, forge, 0.5, post=True)
    (own,) = forge.comments(number)
    reported = own.read_text()
    own.write_text(reported.replace('"accuracy":', '"accuracy":0.5,"ignored":'))  # numbers that differ
    forge.add_comment(number, reported, author="mallory")  # matching numbers, but not mlpin's
    (outcome,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    body = forge.pull(outcome.pr).body
    assert "⚠️ **The rebuilt candidate differs from what PR #1 reported**" in body
    assert "accuracy" in body.split("differs from what")[1].split("\n")[0]


def test_a_pull_requests_candidate_registers_nothing(git_repo: Path, registry: MemoryRegistry) -> None:
    git(git_repo, "checkout", "-q", "-b", "tune", "main")
    edit_yaml(git_repo / f"models/{MODEL}.yaml", estimator={"kind": "logistic_regression", "params": {"C": 0.5}})
    commit_all(git_repo, "tune")
    run = candidate(ctx(git_repo, registry=registry), base="main", pr="7", out_dir=git_repo.parent / "out")
    assert [o.outcome for o in run.outcomes] == ["passed"]
    assert registry.versions == {} and registry.runs == {}, "no version, no run, no tag: nothing propose could pick"


def test_a_model_still_blocked_is_not_reported_again_on_unrelated_pushes(git_repo: Path,
                                                                         registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    strict = (git_repo / "policies/promotion.yaml").read_text().replace("min_eval_rows: 30", "min_eval_rows: 10000")
    (git_repo / "policies/strict.yaml").write_text(strict)
    edit_yaml(git_repo / f"models/{MODEL}.yaml", policy="strict")
    commit_all(git_repo, "raise the bar")
    (first,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    git(git_repo, "checkout", "-q", "-b", "docs", "main")
    (git_repo / "NOTES.md").write_text("unrelated\n")
    commit_all(git_repo, "docs")
    pull = forge.open_pull(head="docs", base="main", title="docs", body="")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "merge", "-q", "--no-ff", "-m", "merge docs", "docs")
    head = git(git_repo, "rev-parse", "HEAD")
    forge.record_merge(pull.number, merge_commit=head, approver="reviewer")
    (later,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    assert (first.outcome, later.outcome, later.kind.value) == ("blocked", "still_blocked", "done")
    assert forge.comments(pull.number) == [], "no blocked comment on a PR that did not touch the model"
    assert "mlpin/propose" not in forge.statuses(head), "the rollup does not fail for what this push did not do"


def test_a_promotion_pr_of_a_model_whose_spec_was_deleted_is_closed(git_repo: Path,
                                                                   registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    merge_tuning(git_repo, forge, 0.5)
    (first,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    git(git_repo, "rm", "-q", f"models/{MODEL}.yaml")
    commit_all(git_repo, "retire the model")
    (retired,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    assert (retired.model, retired.outcome, retired.closed) == (MODEL, "no_spec", first.pr)
    assert forge.pull(first.pr).state == "closed"
    assert propose(ctx(git_repo, registry=registry, forge=forge)).outcomes == [], "a rerun has nothing to say"
