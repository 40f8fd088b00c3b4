"""The forge on GitHub, through PyGithub: comments, statuses, pull requests,
deployments.

Reads and idempotent writes (GET, PATCH, PUT, DELETE) are retried on 5xx and rate-limit
responses by PyGithub's GithubRetry (honouring Retry-After and X-RateLimit-Reset). A POST
is never retried blindly: a 5xx or a dropped connection may come after GitHub created the
thing, so each create re-reads (marker, deployment by sha, status) and only then creates
again, once (`_create_once`); a POST GitHub refused for a rate limit is waited out and
resent, as it was not processed. Failures say who must act (`_github`): 401, 403 (a
permission the token lacks, named), 404 and 422 are InvalidInput; rate limits, 5xx and
lost connections are OutsideSystemError. mlpin's comments are found again by their hidden
marker AND their author (the login mlpin posts as) across every page: a comment anyone
else starts with a marker is never edited. The token is never logged or put in an error
message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pipelines.adapters.forge import MARKER_PREFIX, CommentRef, Deployment, DeploymentState, Merge, PullRef, StatusState
from pipelines.core.errors import InvalidInput, NotFound, OutsideSystemError, Problem

T = TypeVar("T")
RETRIES = 5
PER_PAGE = 100  # GitHub's maximum: fewer requests against the rate limit
MAX_RATE_LIMIT_WAIT_S = 300
DESCRIPTION_LIMIT = 140  # GitHub rejects longer status descriptions
ACTIONS_LOGIN = "github-actions[bot]"  # who posts with the Actions GITHUB_TOKEN
IDEMPOTENT_METHODS = frozenset({"GET", "PATCH", "PUT", "DELETE"})  # the same request twice does no more than once
RATE_LIMITED = (403, 429)  # refused before processing; GithubRetry tells a rate limit from a permission 403


def _retry(*, backoff_factor: float) -> Any:
    """GithubRetry that resends a POST only when GitHub refused it for a rate limit."""
    from github.GithubRetry import GithubRetry

    class _Retry(GithubRetry):
        def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
            if method.upper() == "POST" and status_code in RATE_LIMITED:
                method = "GET"  # as safe to resend as a read: nothing was done
            return super().is_retry(method, status_code, has_retry_after)

    return _Retry(total=RETRIES, backoff_factor=backoff_factor, max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_S,
                  allowed_methods=IDEMPOTENT_METHODS)


def _answer_lost(exc: Exception) -> bool:
    """Whether a write may have happened though its answer says otherwise: a 5xx, a dropped connection."""
    from github import GithubException

    return isinstance(exc, OSError) or (isinstance(exc, GithubException) and exc.status >= 500)


def _create_once(create: Callable[[], T], *, find: Callable[[], T | None]) -> T:
    """`create()`; when its answer is lost, what `find()` now sees (the lost POST did create
    it), else `create()` once more. The caller has already looked before the first create."""
    try:
        return create()
    except Exception as exc:
        if not _answer_lost(exc):
            raise
    found = find()
    return create() if found is None else found


@contextlib.contextmanager
def _github(action: str, *, need: str = "contents: read", repository: str = "") -> Iterator[None]:
    """GitHub's failures as who must act: a refused token, a missing permission or object and
    rejected input are InvalidInput (fix the configuration or the input: retrying fails
    again); a rate limit, a 5xx after retries and a lost connection are OutsideSystemError.
    `need` names the token permission `action` requires."""
    from github import GithubException

    try:
        yield
    except GithubException as exc:
        raise _refusal(exc, action, need=need, repository=repository) from None
    except OSError as exc:
        raise OutsideSystemError("github", f"{action} failed: {exc}") from None


def _refusal(exc: Any, action: str, *, need: str, repository: str) -> Exception:
    from github import RateLimitExceededException

    data = exc.data if isinstance(exc.data, dict) else {}
    said = f"HTTP {exc.status} {data.get('message', exc.data if not data else '')}".rstrip()
    if isinstance(exc, RateLimitExceededException) or exc.status == 429 or exc.status >= 500:
        return OutsideSystemError("github", f"{action} failed: {said}" +
                                  (" (rate limit)" if exc.status in RATE_LIMITED else ""))
    if exc.status == 401:
        return InvalidInput(f"GitHub refused the token ({said}) while {action}: set a valid GITHUB_TOKEN")
    if exc.status == 403:
        return InvalidInput(f"GitHub refused {action} ({said}): the token lacks {need}; grant it to the job")
    if exc.status == 404:
        return NotFound(f"{action}: {repository or 'it'} was not found ({said}); check GITHUB_REPOSITORY and that "
                        f"the token can see it ({need})")
    if exc.status == 422:
        problems = [Problem(str(e.get("field", "")), str(e.get("code") or e.get("message", "")))
                    for e in data.get("errors") or [] if isinstance(e, dict)]
        return InvalidInput(f"GitHub rejected {action} ({said})", problems=problems)
    return OutsideSystemError("github", f"{action} failed: {said}")


def _require_number(pr: str) -> None:
    if not pr.isdigit():
        raise InvalidInput(
            f"on GitHub a pull request is a number; got '{pr}'. Pass --pr N, or run on a pull_request event"
        )


class GitHubForge:
    """PR comments and commit statuses of one repository on GitHub (or GitHub Enterprise)."""

    name = "github"

    def __init__(
        self,
        *,
        token: str,
        repository: str,
        login: str | None = None,
        base_url: str = "https://api.github.com",
        throttle: bool = True,
        backoff_factor: float = 1.0,
    ) -> None:
        from github import Auth, Github

        retry = _retry(backoff_factor=backoff_factor)
        # PyGithub spaces requests to respect GitHub's secondary limits; tests turn it off.
        spacing = {} if throttle else {"seconds_between_requests": None, "seconds_between_writes": None}
        self._client = Github(auth=Auth.Token(token), base_url=base_url, retry=retry, per_page=PER_PAGE, **spacing)
        self.repository = repository
        self._login = login
        self._repo: Any = None

    def login(self) -> str:
        """Who mlpin posts as, so the author of its own comments: the `login` given
        (`MLPIN_BOT_LOGIN`), else the token's own user (`GET /user`: a personal access token),
        else github-actions[bot] when GitHub refuses the token `GET /user` (the Actions
        GITHUB_TOKEN). An App installation token is refused too: give its `<app-slug>[bot]`."""
        if self._login is None:
            self._login = self._token_login()
        return self._login

    def _token_login(self) -> str:
        from github import BadCredentialsException, GithubException, RateLimitExceededException

        with _github("finding who the token posts as (GET /user)"):
            try:
                return self._client.get_user().login
            except GithubException as exc:
                # Only GitHub's plain refusal means "an integration's token": a bad token, a rate
                # limit or an outage is no answer, and guessing would miss mlpin's own comments.
                if exc.status != 403 or isinstance(exc, BadCredentialsException | RateLimitExceededException):
                    raise
        return ACTIONS_LOGIN

    def _github(self, action: str, *, need: str) -> contextlib.AbstractContextManager[None]:
        return _github(action, need=need, repository=self.repository)

    def _repository(self) -> Any:
        if self._repo is None:
            with self._github(f"opening {self.repository}", need="contents: read"):
                self._repo = self._client.get_repo(self.repository)
        return self._repo

    def check_pr_head(self, pr: str, sha: str) -> None:
        """Refuse to report on a commit that is not the PR's head (e.g. a forged summary)."""
        _require_number(pr)
        with self._github(f"reading PR #{pr}", need="pull-requests: read"):
            head = self._repository().get_pull(int(pr)).head.sha
        if head != sha:
            raise InvalidInput(f"PR #{pr} is at {head[:12]}, not {sha[:12]}; refusing to report on another commit")

    def _issue(self, pr: str) -> Any:
        from github import GithubException

        _require_number(pr)
        repo = self._repository()
        with self._github(f"reading PR #{pr}", need="pull-requests: read"):
            try:
                return repo.get_issue(int(pr))
            except GithubException as exc:
                if exc.status == 404:
                    raise NotFound(f"pull request #{pr} does not exist in {self.repository}") from None
                raise

    def _own_comments(self, issue: Any) -> Iterator[Any]:
        """mlpin's comments on the issue, oldest first, across every page: those by its login
        (logins are case-insensitive on GitHub)."""
        login = self.login().casefold()
        return (c for c in issue.get_comments() if c.user is not None and c.user.login.casefold() == login)

    def comment_markers(self, pr: str) -> list[str]:
        """The first line of each of mlpin's own comments on the PR that starts with an mlpin
        marker (all pages)."""
        issue = self._issue(pr)
        with self._github(f"listing the comments on PR #{pr}", need="pull-requests: read"):
            firsts = [(comment.body or "").split("\n", 1)[0] for comment in self._own_comments(issue)]
        return [line for line in firsts if line.startswith(MARKER_PREFIX)]

    def upsert_comment(self, pr: str, marker: str, body: str) -> CommentRef:
        """Edit mlpin's own comment starting with `marker` (searching all pages), else create
        one; a comment by anyone else is never edited, even when it starts with `marker`."""
        issue = self._issue(pr)
        with self._github(f"updating the mlpin comment on PR #{pr}", need="pull-requests: write"):
            comment = self._own_comment(issue, marker)
            if comment is not None:
                changed = comment.body != body
                if changed:
                    comment.edit(body)
                return CommentRef(str(comment.id), comment.html_url, created=False, changed=changed)
            comment = _create_once(lambda: issue.create_comment(body), find=lambda: self._own_comment(issue, marker))
            return CommentRef(str(comment.id), comment.html_url, created=True, changed=True)

    def _own_comment(self, issue: Any, marker: str) -> Any:
        return next((c for c in self._own_comments(issue) if (c.body or "").startswith(marker)), None)

    def set_status(
        self, sha: str, *, context: str, state: StatusState, description: str, target_url: str | None = None
    ) -> None:
        """Create a commit status (GitHub keeps the latest per context)."""
        repo = self._repository()
        options = {"target_url": target_url} if target_url else {}
        description = description[:DESCRIPTION_LIMIT]
        with self._github(f"setting status {context} on {sha[:12]}", need="statuses: write"):
            commit = repo.get_commit(sha)

            def latest() -> Any:  # GitHub lists a commit's statuses newest first
                found = next((s for s in commit.get_statuses() if s.context == context), None)
                return found if found is not None and (found.state, found.description) == (state, description) else None

            _create_once(lambda: commit.create_status(state=state, description=description, context=context,
                                                      **options), find=latest)

    def open_pull(self, *, head: str, base: str, title: str, body: str) -> PullRef:
        """Update the open PR from `head` (the branch must already be pushed), else create it."""
        repo = self._repository()
        owner = self.repository.split("/")[0]
        with self._github(f"opening a pull request from {head}", need="pull-requests: write"):
            for pull in repo.get_pulls(state="open", head=f"{owner}:{head}"):
                changed = (pull.title, pull.body or "", pull.base.ref) != (title, body, base)
                if changed:
                    pull.edit(title=title, body=body, base=base)
                return PullRef(str(pull.number), pull.html_url, created=False, changed=changed)
            pull = _create_once(lambda: repo.create_pull(base=base, head=head, title=title, body=body),
                                find=lambda: next(iter(repo.get_pulls(state="open", head=f"{owner}:{head}")), None))
            return PullRef(str(pull.number), pull.html_url, created=True, changed=True)

    def pull_files(self, pr: str) -> list[str]:
        """The paths the PR changes, from GitHub's own list (every page; GitHub lists up to 3,000)."""
        _require_number(pr)
        with self._github(f"listing the files of PR #{pr}", need="pull-requests: read"):
            return [f.filename for f in self._repository().get_pull(int(pr)).get_files()]

    def open_pull_for(self, head: str) -> PullRef | None:
        """The open PR from branch `head` of this repository, if any."""
        owner = self.repository.split("/")[0]
        with self._github(f"looking for an open pull request from {head}", need="pull-requests: read"):
            pull = next(iter(self._repository().get_pulls(state="open", head=f"{owner}:{head}")), None)
        return None if pull is None else PullRef(str(pull.number), pull.html_url, created=False, changed=False)

    def close_pull(self, pr: str, *, comment: str) -> bool:
        """Comment (mlpin's own, upserted by its marker line), then close PR `pr` if it is open."""
        _require_number(pr)
        with self._github(f"reading PR #{pr}", need="pull-requests: read"):
            pull = self._repository().get_pull(int(pr))
        if pull.state != "open":
            return False
        self.upsert_comment(pr, comment.split("\n", 1)[0], comment)
        with self._github(f"closing PR #{pr}", need="pull-requests: write"):
            pull.edit(state="closed")  # the same state twice is a no-op: safe to retry
        return True

    def own_comment(self, pr: str, marker: str) -> str | None:
        """The body of mlpin's own comment on PR `pr` starting with `marker` (all pages)."""
        issue = self._issue(pr)
        with self._github(f"listing the comments on PR #{pr}", need="pull-requests: read"):
            found = self._own_comment(issue, marker)
        return None if found is None else found.body or ""

    def merged_pull(self, sha: str) -> Merge | None:
        """The merged PR whose merge commit is `sha` (merge, squash or rebase), with its merger."""
        with self._github(f"finding the pull request of {sha[:12]}", need="pull-requests: read"):
            for pull in self._repository().get_commit(sha).get_pulls():
                if pull.merged_at is not None and pull.merge_commit_sha == sha:
                    approver = pull.merged_by.login if pull.merged_by else "unknown"
                    return Merge(pr=str(pull.number), approver=approver, merged_at=pull.merged_at.isoformat())
        return None

    def record_deployment(
        self, *, sha: str, environment: str, description: str, payload: dict, state: DeploymentState
    ) -> Deployment:
        """The newest GitHub Deployment of `sha` when its payload is the same (a payload
        cannot be edited), else a new one; then a `state` status unless that is already its
        latest. Only a success marks earlier deployments inactive: a failed run leaves the
        one still live as it was."""
        repo = self._repository()
        description = description[:DESCRIPTION_LIMIT]

        def same() -> Any:
            newest = next(iter(repo.get_deployments(sha=sha, environment=environment)), None)
            return newest if newest is not None and newest.payload == payload else None

        with self._github(f"recording the deployment of {sha[:12]}", need="deployments: write"):
            deployment = same()
            created = deployment is None
            if deployment is None:
                deployment = _create_once(lambda: repo.create_deployment(
                    ref=sha, environment=environment, description=description, payload=payload,
                    auto_merge=False, required_contexts=[], production_environment=True,
                ), find=same)

            def current() -> Any:  # GitHub lists a deployment's statuses newest first
                latest = next(iter(deployment.get_statuses()), None)
                return latest if latest is not None and latest.state == state else None

            latest = current() or _create_once(
                lambda: deployment.create_status(state, description=description, auto_inactive=state == "success"),
                find=current)
            return _deployment(deployment, state=state, description=latest.description or "", created=created)

    def deployments(self, environment: str) -> list[Deployment]:
        """Deployments to `environment`, newest first, with each one's latest state."""
        with self._github(f"listing deployments to {environment}", need="deployments: read"):
            found = []
            for deployment in self._repository().get_deployments(environment=environment):
                latest = next(iter(deployment.get_statuses()), None)  # GitHub lists newest first
                found.append(_deployment(deployment, state=latest.state if latest else "pending",
                                         description=(latest.description if latest else None) or ""))
            return found


def _deployment(deployment: Any, *, state: str, description: str, created: bool = False) -> Deployment:
    payload = deployment.payload if isinstance(deployment.payload, dict) else {}
    return Deployment(id=str(deployment.id), sha=deployment.sha, environment=deployment.environment,
                      created_at=deployment.created_at.isoformat(), state=state, payload=payload, created=created,
                      description=description)
