"""The forge port: where mlpin talks to people (PR comments, commit statuses, pull
requests, deployments, and issues: the alerting channel of scheduled checks).

Two implementations: GitHub through PyGithub, and a local forge that keeps everything
as files under `.mlpin/forge/` (or `MLPIN_FORGE_DIR`). `GITHUB_TOKEN` +
`GITHUB_REPOSITORY` (as GitHub Actions sets them) select GitHub; otherwise the local
forge is used.

mlpin finds its own comments again by their hidden marker AND their author, so a comment
someone else starts with a marker (a quoting reply, a planted verdict) is never edited.
Its issues are found the same way: by a fingerprint (a hidden marker) their body starts
with AND their author, open or closed, so one alert stays one issue across runs.
On GitHub the author is the login mlpin posts as (`MLPIN_BOT_LOGIN`, else the token's
own user, else `github-actions[bot]`: see `GitHubForge.login`); on the local forge it
is `mlpin`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pipelines.core.errors import InvalidInput

StatusState = Literal["pending", "success", "failure", "error"]
DeploymentState = Literal["success", "failure"]
IssueState = Literal["open", "closed"]
MARKER_PREFIX = "<!-- mlpin:"  # how every mlpin comment begins (pipelines.core.markers)
ENVIRONMENT = "production"
UNREAD = "unread"  # a deployment's state that was not asked for (Forge.newest_deployments)
CONTEXT_PART = re.compile(r"[A-Za-z0-9_.-]+")  # what a context's stage and model may hold: no "/", no spaces


def status_context(stage: str, model: str | None = None) -> str:
    """The commit status context of `stage` (`mlpin/<stage>`: the rollup), or of one model in
    it (`mlpin/<stage>/<model>`); refuses a part with anything outside [A-Za-z0-9_.-]."""
    for part in (stage, model):
        if part is not None and (not CONTEXT_PART.fullmatch(part) or part in (".", "..")):
            raise InvalidInput(f"{part!r} cannot be part of a commit status context: use only A-Z a-z 0-9 _ . -")
    return f"mlpin/{stage}" if model is None else f"mlpin/{stage}/{model}"


STATUS_CONTEXT = status_context("candidate")  # the rollup of every model's candidate status
PROPOSE_CONTEXT = status_context("propose")


@dataclass(frozen=True)
class CommentRef:
    """A comment that was created or updated."""

    id: str
    url: str
    created: bool
    changed: bool


@dataclass(frozen=True)
class PullRef:
    """A pull request that was opened or updated."""

    number: str
    url: str
    created: bool
    changed: bool


@dataclass(frozen=True)
class IssueRef:
    """One of mlpin's issues (an alert: one per fingerprint), as found, opened or updated."""

    number: str
    url: str
    state: IssueState
    title: str
    body: str
    created: bool = False
    changed: bool = False


@dataclass(frozen=True)
class Merge:
    """Who merged which pull request into a commit: the human approval."""

    pr: str
    approver: str
    merged_at: str  # ISO 8601


@dataclass(frozen=True)
class Deployment:
    """A recorded deployment of a commit to an environment, with its latest status."""

    id: str
    sha: str
    environment: str
    created_at: str  # ISO 8601
    state: str  # the latest status: success | failure | inactive (GitHub) | pending (none yet) | UNREAD
    payload: dict
    created: bool = False
    description: str = ""  # the latest status's


class Forge(Protocol):
    """What mlpin needs from a forge. Every write is idempotent."""

    name: str

    def upsert_comment(self, pr: str, marker: str, body: str) -> CommentRef:
        """Update in place mlpin's own PR comment whose body starts with `marker` (all pages),
        else create one; a comment by anyone else is never edited, whatever it starts with."""

    def comment_markers(self, pr: str) -> list[str]:
        """The hidden marker each of mlpin's own comments on PR `pr` starts with, oldest first
        (all pages); comments by anyone else are left out, whatever they start with."""

    def set_status(
        self, sha: str, *, context: str, state: StatusState, description: str, target_url: str | None = None
    ) -> None:
        """Set a commit status."""

    def check_pr_head(self, pr: str, sha: str) -> None:
        """Raise InvalidInput unless `sha` is the head commit of PR `pr`."""

    def open_pull(self, *, head: str, base: str, title: str, body: str) -> PullRef:
        """Open a PR from branch `head` into `base`, or update the open one from `head`."""

    def open_pull_for(self, head: str) -> PullRef | None:
        """The open PR from branch `head`, if there is one."""

    def close_pull(self, pr: str, *, comment: str) -> bool:
        """Close open PR `pr` after mlpin's own comment `comment` (upserted by its first line,
        a marker); False when it was no longer open. A rerun changes nothing."""

    def own_comment(self, pr: str, marker: str) -> str | None:
        """The body of mlpin's own comment on PR `pr` that starts with `marker`, if there is one."""

    def pull_files(self, pr: str) -> list[str]:
        """The paths PR `pr` changes, as the forge itself lists them (not as the PR's code says)."""

    def merged_pull(self, sha: str) -> Merge | None:
        """The PR whose merge made commit `sha`, with who merged it; None for a direct push."""

    def record_deployment(
        self, *, sha: str, environment: str, description: str, payload: dict, state: DeploymentState
    ) -> Deployment:
        """Record what deploying `sha` came to: reuse the newest deployment of `sha` when its
        payload is the same (adding a `state` status unless that is already its latest),
        else create one. A rerun with the same result changes nothing; a different result
        on the same commit (the registry was fixed, or broke) is a new deployment."""

    def deployments(self, environment: str) -> list[Deployment]:
        """Recorded deployments to `environment`, newest first."""

    def newest_deployments(self, environment: str, *, need_state: Callable[[dict], bool]) -> Iterator[Deployment]:
        """Recorded deployments to `environment`, newest first, read as the caller goes (it may
        stop early); a deployment's latest status is read only when `need_state(payload)`,
        else its `state` is UNREAD."""

    def find_issue(self, fingerprint: str) -> IssueRef | None:
        """mlpin's own issue whose body starts with `fingerprint`, open or closed (all pages);
        of several, the open one, else the most recently updated. Issues by anyone else and
        pull requests are left out, whatever they start with."""

    def open_issue(self, *, fingerprint: str, title: str, body: str, labels: list[str]) -> IssueRef:
        """Reopen and update mlpin's issue found by `fingerprint` (`body` must start with it)
        when anything differs (labels: those asked for are added, others kept), else create it,
        once: a create whose answer was lost is re-read before it is sent again."""

    def comment_issue(self, number: str, body: str) -> None:
        """Add mlpin's comment `body` to issue `number`, unless mlpin's newest comment there
        already is exactly `body` (a retried run does not post twice)."""

    def close_issue(self, number: str, *, comment: str) -> bool:
        """Comment (as `comment_issue`) and close issue `number`; False when it was already closed."""

    def issue_comments(self, number: str) -> list[str]:
        """The bodies of mlpin's own comments on issue `number`, oldest first (all pages)."""


def check_fingerprint(fingerprint: str, body: str) -> None:
    """Refuse an issue body that does not start with its (non-empty) fingerprint: the issue
    could never be found again, and every run would open another."""
    if not fingerprint.strip() or not body.startswith(fingerprint):
        raise InvalidInput(f"an issue body must start with its fingerprint {fingerprint!r}, or it is never found again")


def select_forge(root: Path, environ: Mapping[str, str] = os.environ) -> Forge:
    """GitHub when the Actions variables are present, else the local forge. On GitHub,
    `MLPIN_BOT_LOGIN` names who mlpin posts as; empty or unset, the token tells."""
    token, repository = environ.get("GITHUB_TOKEN"), environ.get("GITHUB_REPOSITORY")
    if token and repository:
        from pipelines.adapters.github import GitHubForge

        return GitHubForge(token=token, repository=repository, login=environ.get("MLPIN_BOT_LOGIN") or None,
                           base_url=environ.get("GITHUB_API_URL", "https://api.github.com"))
    return local_forge(root, environ)


def local_forge(root: Path, environ: Mapping[str, str] = os.environ):
    """The local forge: `MLPIN_FORGE_DIR`, else `.mlpin/forge/` of the repository."""
    from pipelines.adapters.localforge import LocalForge

    folder = environ.get("MLPIN_FORGE_DIR")
    return LocalForge(root, folder=Path(folder) if folder else None)


def pr_from_environment(environ: Mapping[str, str] = os.environ) -> str | None:
    """The PR number in a GitHub Actions pull_request run (from the event file or the ref)."""
    event_path = environ.get("GITHUB_EVENT_PATH")
    if event_path and Path(event_path).is_file():
        event = json.loads(Path(event_path).read_text())
        number = (event.get("pull_request") or {}).get("number")
        if number:
            return str(number)
    match = re.fullmatch(r"refs/pull/(\d+)/(merge|head)", environ.get("GITHUB_REF", ""))
    return match.group(1) if match else None
