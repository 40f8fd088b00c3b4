"""A deploy interrupted by the registry (an outage on one model's alias or tags) still
records what happened, per model: the other models are deployed, the interrupted one is
`failed` with the outage as its reason, and the run exits 3 (retry later). The retry
completes it, version tags included, and a version behind the alias whose deploy tags are
missing or stale gets them, exactly once. On the in-memory registry, made to fail once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.adapters.localforge import LocalForge
from pipelines.core.errors import OutsideSystemError
from pipelines.core.lineage import tag
from pipelines.core.outcome import Kind
from pipelines.core.rollout import ALIAS
from pipelines.stages.deploy import deploy
from tests.fakes.registry import MemoryRegistry, sample_candidate
from tests.helpers import ctx, git, pin

A, B = "diabetes_hgb", "wine_logreg"
DEPLOY_TAGS = ("deployed_commit", "deployed_pr", "approver", "deployed_at")


class Outage:
    """`registry`, except that `method` fails for `model` as an unreachable MLflow would,
    `times` times; counts the deploy tag writes per model."""

    def __init__(self, registry: MemoryRegistry, *, method: str = "", model: str = "", times: int = 1) -> None:
        self.inner, self.method, self.model, self.left = registry, method, model, times
        self.tag_writes: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if name != self.method:
            return found

        def failing(model: str, *args: Any) -> Any:
            if model == self.model and self.left > 0:
                self.left -= 1
                raise OutsideSystemError("mlflow", f"{name} {model}: 503 Service Unavailable")
            return found(model, *args)

        return failing

    def tag_version(self, model: str, version: int, tags: dict[str, str]) -> None:
        self.tag_writes[model] = self.tag_writes.get(model, 0) + 1
        self.__getattr__("tag_version")(model, version, tags)  # failing when told to


def registered(registry: MemoryRegistry, model: str) -> dict:
    """A new version of `model` on `registry` and the pin entry that matches it."""
    candidate = sample_candidate(model)
    candidate.tags[tag("data_sha256")] = "d" * 64
    logged = registry.log_candidate(candidate)
    return {"version": logged.version, "run_id": logged.run_id, "artifact_sha256": logged.artifact_sha256,
            "spec_hash": "a" * 64, "data_sha256": "d" * 64}


def deploy_with(repo: Path, registry: Any) -> Any:
    return deploy(ctx(repo, registry=registry, forge=LocalForge(repo)))


@pytest.mark.parametrize("method", ["set_alias", "tag_version"])
def test_an_outage_on_one_model_is_recorded_and_the_retry_completes_it(git_repo: Path, registry: MemoryRegistry,
                                                                       method: str) -> None:
    forge = LocalForge(git_repo)
    commit = pin(git_repo, **{A: registered(registry, A), B: registered(registry, B)})
    run = deploy_with(git_repo, Outage(registry, method=method, model=A))

    assert [(m.model, m.outcome, m.kind) for m in run.outcomes] == [
        (A, "error", Kind.OUTSIDE_SYSTEM), (B, "moved", Kind.DONE)]
    assert registry.alias_version(A, ALIAS) is None, "the interrupted model's alias did not move"
    assert registry.alias_version(B, ALIAS) == 1
    (recorded,) = forge.deployments("production")
    assert (recorded.sha, recorded.state) == (commit, "failure")
    assert recorded.payload["models"][B] == {"pinned": 1, "live": 1, "state": "deployed"}
    failed = recorded.payload["models"][A]
    assert (failed["state"], failed["pinned"], failed.get("live")) == ("failed", 1, None), "the alias did not move"
    assert "503 Service Unavailable" in failed["reason"]
    assert A in recorded.description and "changed behind the alias" not in recorded.description

    again = deploy_with(git_repo, registry)
    assert [(m.model, m.outcome, m.kind) for m in again.outcomes] == [
        (A, "moved", Kind.DONE), (B, "unchanged", Kind.DONE)]
    assert [d.state for d in forge.deployments("production")] == ["success", "failure"]
    for model in (A, B):
        tags = registry.version_tags(model, 1)
        assert all(tag(name) in tags for name in DEPLOY_TAGS), (model, tags)
        assert tags[tag("deployed_commit")] == commit


def test_an_interrupted_deploy_exits_3(git_repo: Path, registry: MemoryRegistry, capsys, monkeypatch) -> None:
    import pipelines.adapters.registry
    from pipelines.cli import main

    pin(git_repo, **{A: registered(registry, A), B: registered(registry, B)})
    outage = Outage(registry, method="set_alias", model=A)
    monkeypatch.setattr(pipelines.adapters.registry, "Registry", lambda root: outage)
    assert main(["deploy", "--repo", str(git_repo), "-q"]) == 3
    out = capsys.readouterr().out
    assert f"{A}: error - not deployed: mlflow: set_alias {A}: 503 Service Unavailable" in out
    assert f"{B}: moved" in out
    assert main(["deploy", "--repo", str(git_repo), "-q"]) == 0


def test_missing_deploy_tags_are_written_once_behind_an_unchanged_alias(git_repo: Path,
                                                                         registry: MemoryRegistry) -> None:
    commit = pin(git_repo, **{A: registered(registry, A)})
    registry.set_alias(A, ALIAS, 1)  # an earlier deploy moved the alias and then failed to tag
    counting = Outage(registry)
    run = deploy_with(git_repo, counting)
    assert [(m.outcome, m.kind) for m in run.outcomes] == [("unchanged", Kind.DONE)]
    tags = registry.version_tags(A, 1)
    assert tags[tag("deployed_commit")] == commit and tags[tag("deployed_pr")] == "none"
    assert "direct push" in tags[tag("approver")] and tag("deployed_at") in tags
    deploy_with(git_repo, counting)
    assert counting.tag_writes == {A: 1}, "the same tags again are not written again"


def test_deploy_tags_that_name_an_older_deploy_are_rewritten(git_repo: Path, registry: MemoryRegistry) -> None:
    first, second = registered(registry, A), registered(registry, A)
    old = pin(git_repo, **{A: first})
    deploy_with(git_repo, registry)
    pin(git_repo, **{A: second})
    deploy_with(git_repo, registry)
    revert = pin(git_repo, **{A: first})
    registry.set_alias(A, ALIAS, 1)  # the revert's deploy moved the alias and then failed to tag
    assert registry.version_tags(A, 1)[tag("deployed_commit")] == old

    deploy_with(git_repo, registry)
    assert registry.version_tags(A, 1)[tag("deployed_commit")] == revert


def test_a_pin_change_of_another_model_leaves_the_deploy_tags_alone(git_repo: Path, registry: MemoryRegistry) -> None:
    entry = registered(registry, A)
    first = pin(git_repo, **{A: entry})
    deploy_with(git_repo, registry)
    before = registry.version_tags(A, 1)
    pin(git_repo, **{A: entry, B: registered(registry, B)})
    counting = Outage(registry)
    run = deploy_with(git_repo, counting)
    assert [(m.model, m.outcome) for m in run.outcomes] == [(A, "unchanged"), (B, "moved")]
    assert registry.version_tags(A, 1) == before and before[tag("deployed_commit")] == first
    assert counting.tag_writes == {B: 1}
    assert git(git_repo, "status", "--porcelain") == ""


def test_an_outage_while_checking_an_unchanged_alias_is_not_called_a_replaced_artifact(
    git_repo: Path, registry: MemoryRegistry
) -> None:
    forge = LocalForge(git_repo)
    pin(git_repo, **{A: registered(registry, A)})
    deploy_with(git_repo, registry)
    run = deploy_with(git_repo, Outage(registry, method="version_digest", model=A))
    assert [(m.outcome, m.kind) for m in run.outcomes] == [("error", Kind.OUTSIDE_SYSTEM)]
    assert registry.alias_version(A, ALIAS) == 1
    latest = forge.deployments("production")[0]
    assert latest.state == "failure"
    assert latest.description == f"failed: {A} v1 interrupted (alias at v1)", "not 'changed behind the alias'"
    assert "503 Service Unavailable" in latest.payload["models"][A]["reason"]
    assert deploy_with(git_repo, registry).deployment_state == "success"
