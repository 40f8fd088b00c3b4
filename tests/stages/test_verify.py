"""`mlpin verify`: the required check on pin changes, with real git and candidates judged by
`mlpin candidate`; on the in-memory registry, except through the CLI (which builds MLflow's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.stages.train import train
from pipelines.stages.verify import verify
from tests.fakes.registry import MemoryRegistry
from tests.helpers import commit_all, ctx, edit_yaml, entry
from tests.stages.helpers import MODEL, candidate_on_branch, pin_pr


@pytest.fixture
def promoted(git_repo: Path, registry: MemoryRegistry) -> dict:
    """A passing candidate merged into main; its pin entry."""
    return candidate_on_branch(git_repo, "tune", 0.5, registry=registry)


def test_a_promotion_backed_by_a_passing_candidate_passes(git_repo: Path, registry: MemoryRegistry,
                                                          promoted: dict) -> None:
    pin_pr(git_repo, "promote", promoted)
    report = verify(ctx(git_repo, registry=registry), base="main")
    assert report.problems == []
    assert report.changes == ["wine_logreg: pinned v1"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"version": 99}, "version 99 is not registered in MLflow"),
        ({"artifact_sha256": "f" * 64}, "the stored artifact's sha256 is"),
        ({"run_id": "someone-else"}, "was made by run"),
        ({"data_sha256": "0" * 64}, "models.wine_logreg.data_sha256: the registry records"),
    ],
    ids=["unknown-version", "wrong-digest", "wrong-run", "wrong-data"],
)
def test_hand_edited_pins_fail_with_a_reason(git_repo: Path, registry: MemoryRegistry, promoted: dict,
                                             overrides: dict, expected: str) -> None:
    pin_pr(git_repo, "promote", {**promoted, **overrides})
    report = verify(ctx(git_repo, registry=registry), base="main")
    assert any(expected in line for line in report.problems), report.problems


def test_a_pin_change_must_be_alone_in_its_pr(git_repo: Path, registry: MemoryRegistry, promoted: dict) -> None:
    pin_pr(git_repo, "promote", promoted)
    edit_yaml(git_repo / "policies/promotion.yaml", min_eval_rows=1)
    commit_all(git_repo, "sneak a policy change in")
    (problem,) = verify(ctx(git_repo, registry=registry), base="main").problems
    assert "a pin change must be the only change in its PR; this PR also changes ['policies/promotion.yaml']" in problem


def test_a_pin_change_with_a_workflow_change_is_refused_as_such(git_repo: Path, registry: MemoryRegistry,
                                                                promoted: dict) -> None:
    pin_pr(git_repo, "promote", promoted)
    (git_repo / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    (git_repo / ".github" / "workflows" / "verify.yml").write_text("name: verify\n")
    commit_all(git_repo, "weaken the check that judges this PR")
    (problem,) = verify(ctx(git_repo, registry=registry), base="main").problems
    assert "a pin change must not come with changes under .github/ (workflows, CODEOWNERS)" in problem
    assert "this PR also changes ['.github/workflows/verify.yml']" in problem


def test_workflow_and_other_changes_are_each_named(git_repo: Path, registry: MemoryRegistry, promoted: dict) -> None:
    pin_pr(git_repo, "promote", promoted)
    (git_repo / ".github").mkdir(exist_ok=True)
    (git_repo / ".github" / "CODEOWNERS").write_text("* @someone\n")
    edit_yaml(git_repo / "policies/promotion.yaml", min_eval_rows=1)
    commit_all(git_repo, "both")
    workflows, rest = verify(ctx(git_repo, registry=registry), base="main").problems
    assert "under .github/" in workflows and "['.github/CODEOWNERS']" in workflows
    assert "this PR also changes ['policies/promotion.yaml']" in rest


def test_a_workflow_change_alone_is_not_verifys_business(git_repo: Path, registry: MemoryRegistry) -> None:
    (git_repo / ".github").mkdir(exist_ok=True)
    (git_repo / ".github" / "CODEOWNERS").write_text("* @someone\n")
    commit_all(git_repo, "codeowners")
    assert verify(ctx(git_repo, registry=registry), base="main").problems == []


def test_the_workflows_own_checkout_of_the_tool_is_not_part_of_the_pr(git_repo: Path, registry: MemoryRegistry,
                                                                        promoted: dict) -> None:
    # verify.yml checks the base branch's mlpin out into tool/ (untracked) inside the PR's checkout
    pin_pr(git_repo, "promote", promoted)
    (git_repo / "tool" / "scripts").mkdir(parents=True)
    (git_repo / "tool" / "scripts" / "bootstrap").write_text("#!/bin/sh\n")
    assert verify(ctx(git_repo, registry=registry), base="main").problems == []


def test_a_version_that_skipped_the_candidate_check_fails(git_repo: Path, registry: MemoryRegistry) -> None:
    pin_pr(git_repo, "promote", entry(train(ctx(git_repo, registry=registry), MODEL)))
    (problem,) = verify(ctx(git_repo, registry=registry), base="main").problems
    assert "has no recorded candidate decision; it must come through mlpin candidate" in problem


def test_recorded_evidence_is_judged_by_the_policy_at_this_commit(git_repo: Path, registry: MemoryRegistry,
                                                                  promoted: dict) -> None:
    edit_yaml(git_repo / "policies/promotion.yaml", metrics=[{"metric": "accuracy", "min": 0.999}])
    commit_all(git_repo, "stricter policy on main")
    pin_pr(git_repo, "promote", promoted)
    (problem,) = verify(ctx(git_repo, registry=registry), base="main").problems
    assert "recorded evidence fails the policy at this commit: accuracy 0.9778 misses >= 0.999" in problem


def test_rollback_to_a_previous_pin_passes_even_under_a_stricter_policy(repo: Path, capsys) -> None:
    first = candidate_on_branch(repo, "tune-a", 0.5)
    pin_pr(repo, "promote-a", first, merge=True)
    second = candidate_on_branch(repo, "tune-b", 0.3)
    pin_pr(repo, "promote-b", second, merge=True)
    edit_yaml(repo / "policies/promotion.yaml", metrics=[{"metric": "accuracy", "min": 0.999}])
    commit_all(repo, "stricter policy on main")
    pin_pr(repo, "rollback", first)
    report = verify(ctx(repo), base="main")
    assert report.problems == []
    assert report.changes == ["wine_logreg: v2 -> v1"]
    assert "a rollback, policy re-check skipped" in report.notes[0]
    assert main(["verify", "--base", "main", "--repo", str(repo), "-q"]) == 0
    assert capsys.readouterr().out.startswith("verify passed\n  wine_logreg: v2 -> v1")


def test_cli_lists_each_problem_on_its_own_line_and_exits_2(repo: Path, capsys) -> None:
    pin_pr(repo, "promote", {**candidate_on_branch(repo, "tune", 0.5), "artifact_sha256": "f" * 64})
    assert main(["verify", "--base", "main", "--repo", str(repo), "-q"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "mlpin: error: verify failed: 2 problems (wine_logreg: pinned v1)"
    assert all(line.startswith("  - models/production.yaml: models.wine_logreg.artifact_sha256:") for line in err[1:])
