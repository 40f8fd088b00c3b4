"""`mlpin propose` and `mlpin deploy` on the paths the loop test does not take:
a blocked candidate, a candidate trained on main, reruns, a pin whose artifact does
not match, an unpinned model, and the signed webhook to serving. On the in-memory
registry; the loop test (tests/e2e) runs both on MLflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.localforge import LocalForge
from pipelines.core.errors import InvalidInput
from pipelines.core.outcome import Kind
from pipelines.stages.deploy import deploy
from pipelines.stages.propose import propose
from pipelines.stages.train import train
from tests.fakes.registry import MemoryRegistry
from tests.helpers import WebhookReceiver, clone_repo, commit_all, ctx, edit_yaml, entry, git, write_yaml
from tests.stages.helpers import MODEL, candidate_on_branch, only_model, pin_pr


@pytest.fixture(autouse=True)
def _one_model(git_repo: Path) -> None:
    only_model(git_repo)


def test_blocked_candidate_gets_a_failing_status_and_a_comment_not_a_pr(git_repo: Path,
                                                                        registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    git(git_repo, "checkout", "-q", "-b", "strict", "main")
    strict = (git_repo / "policies/promotion.yaml").read_text().replace("min_eval_rows: 30", "min_eval_rows: 10000")
    (git_repo / "policies/strict.yaml").write_text(strict)
    edit_yaml(git_repo / f"models/{MODEL}.yaml", policy="strict")
    commit_all(git_repo, "raise the bar")
    pr = forge.open_pull(head="strict", base="main", title="strict", body="")
    git(git_repo, "checkout", "-q", "main")
    git(git_repo, "merge", "-q", "--no-ff", "-m", "merge strict", "strict")
    head = git(git_repo, "rev-parse", "HEAD")
    forge.record_merge(pr.number, merge_commit=head, approver="reviewer")

    # no candidate for this spec yet: it trains and judges one on main
    run = propose(ctx(git_repo, registry=registry, forge=forge))
    (outcome,) = run.outcomes
    assert (outcome.outcome, outcome.kind, outcome.pr) == ("blocked", Kind.BLOCKED, None)
    assert forge.statuses(head)["mlpin/propose"]["state"] == "failure"
    (comment,) = forge.comments(pr.number)
    assert "evaluation rows" in comment.read_text()
    assert git(git_repo, "branch", "--list", "promote/*") == ""


def test_rerun_changes_nothing_and_deploy_mirrors_the_pin(git_repo: Path, registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    candidate_on_branch(git_repo, "tune", 0.5, registry=registry)
    first = propose(ctx(git_repo, registry=registry, forge=forge))
    again = propose(ctx(git_repo, registry=registry, forge=forge))
    assert [o.outcome for o in first.outcomes] == ["proposed"] and [o.outcome for o in again.outcomes] == ["pending"]
    assert first.outcomes[0].pr == again.outcomes[0].pr
    assert git(git_repo, "diff", "--name-only", "main", f"promote/{MODEL}") == "models/production.yaml"
    assert git(git_repo, "status", "--porcelain") == "", "propose never touches the checkout"


def test_a_pin_whose_artifact_does_not_match_is_not_deployed(git_repo: Path, registry: MemoryRegistry,
                                                             deployed: dict) -> None:
    newer = train(ctx(git_repo, registry=registry), MODEL)
    pin_pr(git_repo, "tamper", entry(newer, artifact_sha256="0" * 64), merge=True)
    run = deploy(ctx(git_repo, registry=registry, forge=LocalForge(git_repo)))
    (move,) = run.outcomes
    assert (move.outcome, move.kind) == ("error", Kind.INVALID_INPUT) and "artifact" in move.headline
    assert registry.alias_version(MODEL, "production") == deployed["version"], "the alias stays where it was"


def test_unpinning_removes_the_alias(git_repo: Path, registry: MemoryRegistry, deployed: dict) -> None:
    write_yaml(git_repo / "models/production.yaml", {"schema_version": 1, "models": {}})
    commit_all(git_repo, "unpin")
    run = deploy(ctx(git_repo, registry=registry, forge=LocalForge(git_repo)))
    assert [(m.model, m.outcome) for m in run.outcomes] == [(MODEL, "removed")]
    assert registry.alias_version(MODEL, "production") is None


def test_deploy_calls_serving_once_with_a_valid_signature(git_repo: Path, registry: MemoryRegistry) -> None:
    receiver = WebhookReceiver("s3cret")
    try:
        pinned = candidate_on_branch(git_repo, "tune", 0.5, registry=registry)
        pin_pr(git_repo, "promote", pinned, merge=True)
        misconfigured = {"MLPIN_DEPLOY_WEBHOOK_URL": f"{receiver.url} serving-1:8080", "MLPIN_WEBHOOK_SECRET": "s3cret"}
        with pytest.raises(InvalidInput, match="MLPIN_DEPLOY_WEBHOOK_URL must list http"):
            deploy(ctx(git_repo, registry=registry, forge=LocalForge(git_repo), environ=misconfigured))
        assert registry.alias_version(MODEL, "production") is None, "refused before anything was written"
        environ = {"MLPIN_DEPLOY_WEBHOOK_URL": receiver.url, "MLPIN_WEBHOOK_SECRET": "s3cret"}
        first = deploy(ctx(git_repo, registry=registry, forge=LocalForge(git_repo), environ=environ))
        second = deploy(ctx(git_repo, registry=registry, forge=LocalForge(git_repo), environ=environ))
        other = {**environ, "MLPIN_WEBHOOK_SECRET": "other"}
        wrong = deploy(ctx(git_repo, registry=registry, forge=LocalForge(git_repo), environ=other))
    finally:
        receiver.server.shutdown()
    assert [c.result for c in first.webhooks] == ["sent: HTTP 202"]
    assert [c.result for c in second.webhooks] == ["not sent: nothing changed"]
    assert [c.result for c in wrong.webhooks] == ["not sent: nothing changed"], "nothing changed, nothing is sent"
    assert receiver.calls == [(True, {"commit": first.commit, "models": {MODEL: pinned["version"]}, "pr": None})]


def test_deploy_credits_the_commit_that_set_the_pin(git_repo: Path, registry: MemoryRegistry) -> None:
    forge = LocalForge(git_repo)
    pinned = candidate_on_branch(git_repo, "tune", 0.5, registry=registry)
    pin_pr(git_repo, "promote", pinned, merge=True)
    pin_commit = git(git_repo, "rev-parse", "HEAD")
    (git_repo / "README.md").write_text("a later change that leaves the pin alone\n")
    commit_all(git_repo, "docs")
    run = deploy(ctx(git_repo, registry=registry, forge=forge))
    assert run.commit == pin_commit
    assert [d.sha for d in forge.deployments("production")] == [pin_commit]


def test_an_open_promotion_pr_is_rebuilt_on_the_new_main(git_repo: Path, registry: MemoryRegistry) -> None:
    from pipelines.adapters.pinlog import pins_at
    from pipelines.core.pin import pin_changes

    forge = LocalForge(git_repo)
    candidate_on_branch(git_repo, "tune", 0.5, registry=registry)
    (proposed,) = propose(ctx(git_repo, registry=registry, forge=forge)).outcomes
    # meanwhile another change lands on main (another model's promotion, say)
    (git_repo / "README.md").write_text("a later change\n")
    head = commit_all(git_repo, "docs")
    run = propose(ctx(git_repo, registry=registry, forge=forge))
    assert [(o.model, o.outcome, o.pr) for o in run.outcomes] == [(MODEL, "refreshed", proposed.pr)]
    assert git(git_repo, "rev-parse", f"promote/{MODEL}^") == head
    changes = pin_changes(pins_at(git_repo, head), pins_at(git_repo, f"promote/{MODEL}"))
    assert [(c.model, c.kind) for c in changes] == [(MODEL, "added")], "still only its own entry"
    assert [o.outcome for o in propose(ctx(git_repo, registry=registry, forge=forge)).outcomes] == ["pending"], \
        "nothing to do once it is current"


class _ForgeDownOnRefresh(LocalForge):
    """The local forge, except that asking for an open PR fails like a GitHub 502."""

    def open_pull_for(self, head: str):
        from pipelines.core.errors import OutsideSystemError

        raise OutsideSystemError("github", "GET /pulls: 502 Bad Gateway")


def test_a_failure_refreshing_one_models_pr_is_that_models_outcome(git_repo: Path, registry: MemoryRegistry) -> None:
    candidate_on_branch(git_repo, "tune", 0.5, registry=registry)
    propose(ctx(git_repo, registry=registry, forge=LocalForge(git_repo)))
    (git_repo / "README.md").write_text("a later change\n")
    commit_all(git_repo, "docs")
    run = propose(ctx(git_repo, registry=registry, forge=_ForgeDownOnRefresh(git_repo)))
    assert [(o.model, o.outcome, o.kind) for o in run.outcomes] == [(MODEL, "error", Kind.OUTSIDE_SYSTEM)]
    assert "502 Bad Gateway" in run.outcomes[0].headline


def test_propose_in_a_clone_of_an_ordinary_repository_pushes_its_branch_there(
    git_repo: Path, tmp_path: Path, registry: MemoryRegistry
) -> None:
    clone = clone_repo(git_repo, tmp_path / "clone")
    candidate_on_branch(clone, "tune", 0.5, registry=registry)
    (outcome,) = propose(ctx(clone, registry=registry, forge=LocalForge(clone))).outcomes
    assert (outcome.outcome, outcome.kind) == ("proposed", Kind.DONE)
    branch = f"promote/{MODEL}"
    assert git(git_repo, "rev-parse", branch) == git(clone, "rev-parse", branch), "mlpin's own branch, pushed"
    assert git(git_repo, "branch", "--show-current") == "main" and git(git_repo, "status", "--porcelain") == ""


def test_propose_asks_a_person_when_origin_has_the_promotion_branch_checked_out(
    git_repo: Path, tmp_path: Path, registry: MemoryRegistry
) -> None:
    clone = clone_repo(git_repo, tmp_path / "clone")
    git(git_repo, "switch", "-q", "-c", f"promote/{MODEL}")  # someone looks at it in their own repository
    candidate_on_branch(clone, "tune", 0.5, registry=registry)
    (outcome,) = propose(ctx(clone, registry=registry, forge=LocalForge(clone))).outcomes
    assert (outcome.outcome, outcome.kind) == ("error", Kind.INVALID_INPUT)
    assert outcome.headline == (f"origin is a non-bare repository with promote/{MODEL} checked out, so git will not "
                                "update it there; switch that work tree to another branch and rerun")
