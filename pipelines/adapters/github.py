"""The forge on GitHub, through PyGithub: comments, statuses, pull requests,
deployments; issues are in `githubissues`.

Retries, creates that are never made twice (each re-reads: marker, deployment by sha,
status) and failures as who must act (401, 403 naming the permission, 404 and 422 are
InvalidInput; rate limits, 5xx and lost connections are OutsideSystemError) are in
`githubcalls`. mlpin's comments are found again by their hidden marker AND their author
(the login mlpin posts as) across every page: a comment anyone else starts with a marker
is never edited. Those pages are read once per PR for the life of the instance (one run),
which keeps them up to date with its own edits and creates; after a lost answer it reads
them again. Deployment statuses are read only where the caller needs the state. The
token is never logged or put in an error message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from pipelines.adapters.forge import (
    MARKER_PREFIX,
    UNREAD,
    CommentRef,
    Deployment,
    DeploymentState,
    Merge,
    PullRef,
    StatusState,
)
from pipelines.adapters.githubcalls import DESCRIPTION_LIMIT, PER_PAGE, create_once, github_call, retry_policy
from pipelines.adapters.githubissues import GitHubIssues
from pipelines.core.errors import InvalidInput, NotFound

ACTIONS_LOGIN = "github-actions[bot]"  # who posts with the Actions GITHUB_TOKEN


def _require_number(pr: str) -> None:
    if not pr.isdigit():
        raise InvalidInput(
            f"on GitHub a pull request is a number; got '{pr}'. Pass --pr N, or run on a pull_request event"
        )


class GitHubForge(GitHubIssues):
    """PR comments, commit statuses, pull requests, deployments and issues of one repository
    on GitHub (or GitHub Enterprise)."""

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

        retry = retry_policy(backoff_factor=backoff_factor)
        # PyGithub spaces requests to respect GitHub's secondary limits; tests turn it off.
        spacing = {} if throttle else {"seconds_between_requests": None, "seconds_between_writes": None}
        self._client = Github(auth=Auth.Token(token), base_url=base_url, retry=retry, per_page=PER_PAGE, **spacing)
        self.repository = repository
        self._login = login
        self._repo: Any = None
        self._issues: dict[str, Any] = {}  # PR or issue number -> its issue, read once per run
        self._issue_list: list[Any] | None = None  # mlpin's own issues, all pages, read once per run
        self._comments: dict[str, list[Any]] = {}  # PR number -> mlpin's own comments, all pages read once

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

        with github_call("finding who the token posts as (GET /user)"):
            try:
                return self._client.get_user().login
            except GithubException as exc:
                # Only GitHub's plain refusal means "an integration's token": a bad token, a rate
                # limit or an outage is no answer, and guessing would miss mlpin's own comments.
                if exc.status != 403 or isinstance(exc, BadCredentialsException | RateLimitExceededException):
                    raise
        return ACTIONS_LOGIN

    def _github(self, action: str, *, need: str) -> contextlib.AbstractContextManager[None]:
        return github_call(action, need=need, repository=self.repository)

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
        if pr in self._issues:
            return self._issues[pr]
        repo = self._repository()
        with self._github(f"reading PR #{pr}", need="pull-requests: read"):
            try:
                self._issues[pr] = repo.get_issue(int(pr))
            except GithubException as exc:
                if exc.status == 404:
                    raise NotFound(f"pull request #{pr} does not exist in {self.repository}") from None
                raise
        return self._issues[pr]

    def _own_comments(self, pr: str) -> list[Any]:
        """mlpin's comments on the PR, oldest first, across every page: read once per run (this
        instance), then kept up to date by this instance's own edits and creates."""
        if pr not in self._comments:
            self._comments[pr] = self._read_own_comments(self._issue(pr))
        return self._comments[pr]

    def _read_own_comments(self, issue: Any) -> list[Any]:
        """Every page of the issue's comments, keeping those by mlpin's login (logins are
        case-insensitive on GitHub)."""
        login = self.login().casefold()
        return [c for c in issue.get_comments() if c.user is not None and c.user.login.casefold() == login]

    def comment_markers(self, pr: str) -> list[str]:
        """The first line of each of mlpin's own comments on the PR that starts with an mlpin
        marker (all pages)."""
        with self._github(f"listing the comments on PR #{pr}", need="pull-requests: read"):
            firsts = [(comment.body or "").split("\n", 1)[0] for comment in self._own_comments(pr)]
        return [line for line in firsts if line.startswith(MARKER_PREFIX)]

    def upsert_comment(self, pr: str, marker: str, body: str) -> CommentRef:
        """Edit mlpin's own comment starting with `marker` (searching all pages), else create
        one; a comment by anyone else is never edited, even when it starts with `marker`."""
        issue = self._issue(pr)
        with self._github(f"updating the mlpin comment on PR #{pr}", need="pull-requests: write"):
            comment = _starting_with(self._own_comments(pr), marker)
            if comment is not None:
                changed = comment.body != body
                if changed:
                    comment.edit(body)  # PyGithub updates the kept object from GitHub's answer
                return CommentRef(str(comment.id), comment.html_url, created=False, changed=changed)
            comment = create_once(lambda: issue.create_comment(body), find=lambda: self._reread(pr, marker))
            if all(c.id != comment.id for c in self._own_comments(pr)):
                self._own_comments(pr).append(comment)
            return CommentRef(str(comment.id), comment.html_url, created=True, changed=True)

    def _reread(self, pr: str, marker: str) -> Any:
        """After a lost answer: the pages again (not what this run kept), which the lost POST may have changed."""
        self._comments[pr] = self._read_own_comments(self._issue(pr))
        return _starting_with(self._comments[pr], marker)

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

            create_once(lambda: commit.create_status(state=state, description=description, context=context,
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
            pull = create_once(lambda: repo.create_pull(base=base, head=head, title=title, body=body),
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
        """The body of mlpin's own comment on PR `pr` starting with `marker` (all pages). mlpin
        posts candidate reports with the Actions token and propose with a bot's, so a comment
        by the Actions bot also counts when mlpin posts as another login (only workflows can
        post as it); a comment by anyone else never does."""
        with self._github(f"listing the comments on PR #{pr}", need="pull-requests: read"):
            found = _starting_with(self._own_comments(pr), marker)
            if found is None and self.login().casefold() != ACTIONS_LOGIN:
                actions = [c for c in self._issue(pr).get_comments()
                           if c.user is not None and c.user.login.casefold() == ACTIONS_LOGIN]
                found = _starting_with(actions, marker)
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
                deployment = create_once(lambda: repo.create_deployment(
                    ref=sha, environment=environment, description=description, payload=payload,
                    auto_merge=False, required_contexts=[], production_environment=True,
                ), find=same)

            def current() -> Any:  # GitHub lists a deployment's statuses newest first
                latest = next(iter(deployment.get_statuses()), None)
                return latest if latest is not None and latest.state == state else None

            latest = current() or create_once(
                lambda: deployment.create_status(state, description=description, auto_inactive=state == "success"),
                find=current)
            return _deployment(deployment, state=state, description=latest.description or "", created=created)

    def deployments(self, environment: str) -> list[Deployment]:
        """Deployments to `environment`, newest first, with each one's latest state."""
        return list(self.newest_deployments(environment, need_state=lambda payload: True))

    def newest_deployments(self, environment: str, *, need_state: Callable[[dict], bool]) -> Iterator[Deployment]:
        """Deployments to `environment`, newest first, a page of 100 at a time as the caller
        goes; a status (one request per deployment) only where `need_state(payload)`."""
        with self._github(f"listing deployments to {environment}", need="deployments: read"):
            listed = iter(self._repository().get_deployments(environment=environment))
        while True:
            with self._github(f"listing deployments to {environment}", need="deployments: read"):
                deployment = next(listed, None)
                if deployment is None:
                    return
                payload = deployment.payload if isinstance(deployment.payload, dict) else {}
                latest = next(iter(deployment.get_statuses()), None) if need_state(payload) else UNREAD
            yield _latest(deployment, latest)


def _latest(deployment: Any, latest: Any) -> Deployment:
    """`deployment` with its latest status (GitHub lists them newest first): None when it has
    none yet, UNREAD when it was not asked for."""
    if latest == UNREAD:
        return _deployment(deployment, state=UNREAD, description="")
    return _deployment(deployment, state=latest.state if latest else "pending",
                       description=(latest.description if latest else None) or "")


def _starting_with(comments: list[Any], marker: str) -> Any:
    return next((c for c in comments if (c.body or "").startswith(marker)), None)


def _deployment(deployment: Any, *, state: str, description: str, created: bool = False) -> Deployment:
    payload = deployment.payload if isinstance(deployment.payload, dict) else {}
    return Deployment(id=str(deployment.id), sha=deployment.sha, environment=deployment.environment,
                      created_at=deployment.created_at.isoformat(), state=state, payload=payload, created=created,
                      description=description)
