"""What deploy records is what happened, per model, and history tells it back: a pin
whose entry fails the integrity check is recorded as failed ("pinned, not deployed"),
an artifact replaced behind an alias that does not move is caught on every run, and a
rerun after the registry is fixed records the success. On the in-memory registry; the
loop test (tests/e2e) tampers with MLflow's stored artifact through the CLI."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.adapters.localforge import LocalForge
from pipelines.console import render_history
from pipelines.core.outcome import Kind
from pipelines.core.rollout import ALIAS
from pipelines.stages.deploy import deploy
from pipelines.stages.history import history
from pipelines.stages.train import train
from tests.fakes.registry import MemoryRegistry
from tests.helpers import ctx, entry
from tests.stages.helpers import MODEL, pin_pr


def soon() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=1)


def test_a_pin_that_fails_its_check_is_recorded_and_shown_as_not_deployed(git_repo: Path, registry: MemoryRegistry,
                                                                          deployed: dict) -> None:
    forge = LocalForge(git_repo)
    newer = train(ctx(git_repo, registry=registry), MODEL)
    pin_pr(git_repo, "bad-digest", entry(newer, artifact_sha256="0" * 64), merge=True)
    run = deploy(ctx(git_repo, registry=registry, forge=forge))
    assert run.outcomes[0].kind == Kind.INVALID_INPUT
    assert registry.alias_version(MODEL, ALIAS) == deployed["version"]

    latest, first = forge.deployments("production")
    assert (first.state, latest.state) == ("success", "failure")
    assert MODEL in latest.description and "not deployed" in latest.description
    recorded = latest.payload["models"][MODEL]
    assert (recorded["state"], recorded["pinned"], recorded["live"]) == ("failed", newer.version, deployed["version"])
    assert "sha256" in recorded["reason"]

    found = history(ctx(git_repo, forge=forge), MODEL)
    assert found.events[0].deployed_at and found.events[-1].deployed_at is None
    text = render_history(found)
    assert f"v{deployed['version']} -> v{newer.version}" in text and "pinned, not deployed: " in text
    assert text.count("not deployed") == 1, text

    asked = history(ctx(git_repo, forge=forge), MODEL, at=soon())
    assert asked.at_event.version == newer.version, "the pin (git) says the new version"
    assert asked.at_deployed.live == deployed["version"], "the deployment record says the old one stayed"
    assert any("disagree" in line for line in asked.disagreements), asked.disagreements
    assert f"deployed  v{deployed['version']}" in render_history(asked)


def test_a_rerun_after_the_registry_is_fixed_records_the_success(git_repo: Path, registry: MemoryRegistry,
                                                                 deployed: dict) -> None:
    forge = LocalForge(git_repo)
    newer = train(ctx(git_repo, registry=registry), MODEL)
    good_run = registry.versions[MODEL][newer.version - 1].run_id
    registry.versions[MODEL][newer.version - 1].run_id = "someone-else"
    pin_pr(git_repo, "promote-newer", entry(newer), merge=True)
    failed = deploy(ctx(git_repo, registry=registry, forge=forge))
    again = deploy(ctx(git_repo, registry=registry, forge=forge))
    assert failed.deployment_created and not again.deployment_created, "a rerun with the same result is a no-op"
    registry.versions[MODEL][newer.version - 1].run_id = good_run
    fixed = deploy(ctx(git_repo, registry=registry, forge=forge))
    assert [m.outcome for m in fixed.outcomes] == ["moved"]
    assert registry.alias_version(MODEL, ALIAS) == newer.version
    assert [d.state for d in forge.deployments("production")] == ["success", "failure", "success"]

    text = render_history(history(ctx(git_repo, forge=forge), MODEL))
    assert "pinned, not deployed: " in text and text.endswith("then deployed"), text
    asked = history(ctx(git_repo, forge=forge), MODEL, at=soon())
    assert asked.at_deployed.live == newer.version and asked.disagreements == []


def test_an_artifact_replaced_behind_an_unchanged_alias_fails_every_deploy(git_repo: Path, registry: MemoryRegistry,
                                                                           deployed: dict) -> None:
    forge = LocalForge(git_repo)
    stored = registry.artifact_path(MODEL, deployed["version"]) / "model.skops"
    original = stored.read_bytes()
    stored.write_bytes(pickle.dumps({"not": "the model that was reviewed"}))

    run = deploy(ctx(git_repo, registry=registry, forge=forge))
    (move,) = run.outcomes
    assert (move.outcome, move.kind) == ("error", Kind.INVALID_INPUT)
    assert move.headline.startswith("artifact changed behind the alias: ") and "sha256" in move.headline
    assert registry.alias_version(MODEL, ALIAS) == deployed["version"], "the alias is left where it is"
    latest = forge.deployments("production")[0]
    assert latest.state == "failure" and MODEL in latest.description
    assert latest.payload["models"][MODEL]["state"] == "failed"
    assert not deploy(ctx(git_repo, registry=registry, forge=forge)).deployment_created

    stored.write_bytes(original)
    restored = deploy(ctx(git_repo, registry=registry, forge=forge))
    assert [(m.outcome, m.kind) for m in restored.outcomes] == [("unchanged", Kind.DONE)]
    assert [d.state for d in forge.deployments("production")] == ["success", "failure", "success"]
    text = render_history(history(ctx(git_repo, forge=forge), MODEL))
    assert "then not deployed: artifact changed behind the alias" in text and text.endswith("then deployed"), text
