"""mlpin's issues on GitHub (the alerting channel of scheduled checks), as a part of
GitHubForge: found by fingerprint AND author across every page, created once (a create
whose answer was lost is re-read before it is sent again), edited only where something
differs. No pull-request, status or deployment logic here.

mlpin's issues are listed once per run (this instance: `state=all&creator=<login>`, a
page of 100 per request), then kept up to date by the instance's own creates and edits;
after a lost answer they are read again. GitHub lists pull requests as issues too: they
are told apart by their page address (`.../pull/N`), which every listed item carries,
because asking PyGithub for `pull_request` on an issue without one costs one more request
per issue. Issue comments are PR comments on GitHub: the forge's per-run comment cache
serves both.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from pipelines.adapters.forge import IssueRef, check_fingerprint
from pipelines.adapters.githubcalls import create_once


class _Host(Protocol):
    """What the issue methods use of GitHubForge."""

    _issue_list: list[Any] | None  # mlpin's issues, all pages, read once per run
    _issues: dict[str, Any]  # number -> its issue object
    _comments: dict[str, list[Any]]

    def login(self) -> str: ...
    def _repository(self) -> Any: ...
    def _github(self, action: str, *, need: str) -> AbstractContextManager[None]: ...
    def _issue(self, pr: str) -> Any: ...
    def _own_comments(self, pr: str) -> list[Any]: ...
    def _read_own_comments(self, issue: Any) -> list[Any]: ...


class GitHubIssues:
    """The issue methods of GitHubForge (a mixin: the forge brings the repository, the login
    and the caches)."""

    def find_issue(self: _Host, fingerprint: str) -> IssueRef | None:
        """mlpin's issue whose body starts with `fingerprint`, open or closed (all pages)."""
        with self._github(f"listing mlpin's issues for {fingerprint}", need="issues: read"):
            found = _matching(_own_issues(self), fingerprint)
            return None if found is None else _ref(found)

    def open_issue(self: _Host, *, fingerprint: str, title: str, body: str, labels: list[str]) -> IssueRef:
        """Reopen and update mlpin's issue `fingerprint` where anything differs, else create it once."""
        check_fingerprint(fingerprint, body)
        with self._github(f"opening the issue {fingerprint}", need="issues: write"):
            issue = _matching(_own_issues(self), fingerprint)
            if issue is not None:
                changes = _changes(issue, title=title, body=body, labels=labels)
                if changes:
                    issue.edit(**changes)  # a PATCH: the same edit twice is a no-op, safe to retry
                return _ref(issue, changed=bool(changes))
            repo = self._repository()
            issue = create_once(lambda: repo.create_issue(title=title, body=body, labels=labels),
                                find=lambda: _matching(_read_own_issues(self), fingerprint))
            own = _own_issues(self)
            if all(i.number != issue.number for i in own):
                own.append(issue)
                self._issues[str(issue.number)] = issue
            return _ref(issue, created=True, changed=True)

    def comment_issue(self: _Host, number: str, body: str) -> None:
        """Post mlpin's comment `body` unless mlpin's newest comment on the issue already is `body`."""
        issue = self._issue(number)
        with self._github(f"commenting on issue #{number}", need="issues: write"):
            own = self._own_comments(number)
            if own and own[-1].body == body:
                return

            def newest_again() -> Any:  # after a lost answer: the pages again, which the lost POST may have changed
                self._comments[number] = self._read_own_comments(issue)
                newest = self._comments[number][-1] if self._comments[number] else None
                return newest if newest is not None and newest.body == body else None

            comment = create_once(lambda: issue.create_comment(body), find=newest_again)
            if all(c.id != comment.id for c in self._own_comments(number)):
                self._own_comments(number).append(comment)

    def close_issue(self: _Host, number: str, *, comment: str) -> bool:
        """Comment (unless mlpin's newest comment already is `comment`), then close; False when already closed."""
        issue = self._issue(number)
        if issue.state == "closed":
            return False
        GitHubIssues.comment_issue(self, number, comment)
        with self._github(f"closing issue #{number}", need="issues: write"):
            issue.edit(state="closed")
        return True

    def issue_comments(self: _Host, number: str) -> list[str]:
        """The bodies of mlpin's own comments on the issue, oldest first (all pages)."""
        with self._github(f"listing the comments on issue #{number}", need="issues: read"):
            return [c.body or "" for c in self._own_comments(number)]


def _own_issues(host: _Host) -> list[Any]:
    if host._issue_list is None:
        host._issue_list = _read_own_issues(host)
    return host._issue_list


def _read_own_issues(host: _Host) -> list[Any]:
    """Every page of the issues `creator=<login>` lists, keeping issues (not pull requests)
    by mlpin's login (logins are case-insensitive on GitHub). When that lists none, every
    issue is read and filtered here: whether the `creator` filter matches an App's bot login
    (`github-actions[bot]`) is not documented, and a filter that silently matched nothing
    would make every run open a new issue."""
    login = host.login()
    repository = host._repository()
    own = _by(login, repository.get_issues(state="all", creator=login))
    if not own:
        own = _by(login, repository.get_issues(state="all"))
    host._issue_list = own
    host._issues.update({str(i.number): i for i in own})
    return own


def _by(login: str, listed: Any) -> list[Any]:
    return [i for i in listed
            if not _is_pull(i) and i.user is not None and i.user.login.casefold() == login.casefold()]


def _is_pull(issue: Any) -> bool:
    return "/pull/" in (issue.html_url or "")


def _matching(issues: list[Any], fingerprint: str) -> Any:
    """Of the issues starting with `fingerprint`: the open one, else the most recently updated."""
    found = [i for i in issues if (i.body or "").startswith(fingerprint)]
    opened = [i for i in found if i.state == "open"]
    return max(opened or found, key=lambda i: (i.updated_at, i.number), default=None)


def _changes(issue: Any, *, title: str, body: str, labels: list[str]) -> dict[str, Any]:
    """The edit that makes `issue` open with `title`, `body` and at least `labels` (labels
    people added are kept; GitHub's label names are case-insensitive)."""
    have = [label.name for label in issue.labels]
    missing = [name for name in dict.fromkeys(labels) if name.casefold() not in {h.casefold() for h in have}]
    wanted = {"state": "open", "title": title, "body": body}
    changes: dict[str, Any] = {k: v for k, v in wanted.items() if (getattr(issue, k) or "") != v}
    if missing:
        changes["labels"] = have + missing
    return changes


def _ref(issue: Any, *, created: bool = False, changed: bool = False) -> IssueRef:
    return IssueRef(number=str(issue.number), url=issue.html_url, state=issue.state, title=issue.title,
                    body=issue.body or "", created=created, changed=changed)
