"""The pull requests and comments that carry a pin change: branch names, titles and
bodies of promotion and rollback PRs, and the comment on a merged PR whose candidate
was blocked. Pure: stages write what this returns.
"""

from __future__ import annotations

from pipelines.core.markers import promote_marker, propose_marker, rollback_marker
from pipelines.core.policy import Decision
from pipelines.core.schemas import PinnedModel


def promotion_branch(model: str) -> str:
    """The one branch a model's promotion PR lives on: reruns update it, never add another."""
    return f"promote/{model}"


def rollback_branch(model: str) -> str:
    """The one branch a model's rollback PR lives on."""
    return f"rollback/{model}"


def promotion_title(model: str, entry: PinnedModel) -> str:
    """`promote <model> v<N>`, the title GitHub lists."""
    return f"promote {model} v{entry.version}"


def render_promotion(model: str, *, old: PinnedModel | None, new: PinnedModel, report: str | None,
                     rebuild: str = "") -> str:
    """The promotion PR body: what merging changes, whether the trusted rebuild matched what
    the pull request reported (`rebuild`, one visible line), then the candidate's full report."""
    before = f"v{old.version}" if old else "nothing (first promotion)"
    source = f"#{new.source.pr}" if new.source.pr else "no PR recorded"
    lines = [
        promote_marker(model),
        f"## Promote `{model}` v{new.version}",
        "",
        f"Merging this PR puts **{model} v{new.version}** in production (now: {before}). "
        "This PR changes only `models/production.yaml`; reviewing and merging it is the approval, "
        "and `git revert` of the merge commit is the rollback.",
        "",
        *([rebuild, ""] if rebuild else []),
        "| | |",
        "|---|---|",
        f"| registered version | `{model}` v{new.version} |",
        f"| MLflow run | `{new.run_id}` |",
        f"| artifact sha256 | `{new.artifact_sha256}` |",
        f"| spec hash | `{new.spec_hash}` |",
        f"| data sha256 | `{new.data_sha256}` |",
        f"| candidate PR | {source} |",
        f"| candidate commit | `{(new.source.commit or 'unknown')[:12]}` |",
        "",
        "| metric | candidate |" + (" production |" if old else ""),
        "|---|---:|" + ("---:|" if old else ""),
    ]
    for name, value in new.metrics.items():
        prod = f" {old.metrics[name]:.4f} |" if old and name in old.metrics else (" – |" if old else "")
        lines.append(f"| {name} | {value:.4f} |{prod}")
    lines += ["", "---", "", report.strip() if report else "_The candidate's report was not stored with its run._", ""]
    return "\n".join(lines)


def render_blocked(model: str, decision: Decision, *, version: int) -> str:
    """The comment on the merged PR when its candidate may not be promoted."""
    lines = [
        propose_marker(model),
        f"## `{model}` v{version} was not proposed for production",
        "",
        "The policy as it stands on main blocks this candidate, so no promotion PR was opened. Failed gates:",
        "",
        *(f"- **{g.gate}**: {g.reason}" for g in decision.failed),
        "",
        "Change the spec or data in a new PR to get a new candidate; a policy change needs its own review.",
    ]
    return "\n".join(lines) + "\n"


def render_superseded(model: str, *, why: str) -> str:
    """The comment with which propose closes a promotion PR that main has overtaken."""
    return (f"{promote_marker(model)}\nClosed by mlpin propose: {why}. This PR no longer matches main; "
            "propose opens a new one when a candidate for the spec at main passes.\n")


def rollback_title(model: str, *, current: int | None, target: int | None) -> str:
    """`rollback <model> to v<N>`, or `rollback <model>: unpin v<N>` when nothing was pinned before."""
    return f"rollback {model} to v{target}" if target else f"rollback {model}: unpin v{current}"


def render_rollback(model: str, *, reverts: list[str], current: int | None, target: int | None) -> str:
    """The rollback PR body: which commits it reverts and what merging it changes."""
    return "\n".join([
        rollback_marker(model), f"## {rollback_title(model, current=current, target=target)}", "",
        f"`git revert` of {', '.join(f'`{s[:12]}`' for s in reverts)}: production goes from v{current} back to "
        f"{f'v{target}' if target else 'nothing'}. Merging this PR is the approval; deploy and serving "
        "then follow the pin as for any other change. Verify skips the policy re-check for a version "
        "that was in production before, but not the registry and digest checks.", "",
    ])
