"""mlpin's issues on the local forge (the alerting channel of scheduled checks), as a part
of LocalForge. No pull-request, status or deployment logic here.

Layout under the forge folder:
  issues/<n>.json          an issue: title, body, state, labels, author, times
  issues/<n>/<k>.md        one file per comment, oldest first
  issues/<n>/<k>.json      who wrote comment <k>: {"author": ...}; mlpin's own are `mlpin`
  issues.lock              held (fcntl) while an issue is looked up and written, so two
                           local checks racing never open two issues or post twice
Issues and pull requests share one number space, as on GitHub. mlpin finds and edits only
issues and comments whose author is `mlpin`, whatever they start with.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from pipelines.adapters.atomic import write_atomic
from pipelines.adapters.forge import IssueRef, check_fingerprint
from pipelines.core.errors import NotFound

MLPIN_AUTHOR = "mlpin"  # the author of mlpin's own issues and comments on the local forge


class LocalIssue(BaseModel):
    """One issue of the local forge."""

    number: int
    title: str
    body: str
    state: Literal["open", "closed"] = "open"
    labels: list[str] = []
    author: str
    created_at: str
    updated_at: str  # to the microsecond: "most recently updated" must tell two runs apart


def _now() -> str:
    return datetime.now(UTC).isoformat()


class LocalIssues:
    """The issue methods of LocalForge (a mixin: the forge brings `folder` and its pull request numbers)."""

    folder: Path

    def _pull_numbers(self) -> list[int]:
        raise NotImplementedError

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the forge's lock (an fcntl lock file): one writer of issues and numbers at a time."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "issues.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def next_number(self) -> int:
        """The next number for an issue or a pull request (one space, as on GitHub); hold `locked()`."""
        return max([*self._pull_numbers(), *(i.number for i in self.issues())], default=0) + 1

    def issues(self) -> list[LocalIssue]:
        """Every issue, whoever opened it, oldest first."""
        folder = self.folder / "issues"
        paths = sorted(folder.glob("*.json"), key=lambda p: int(p.stem)) if folder.is_dir() else []
        return [LocalIssue.model_validate_json(p.read_text()) for p in paths]

    def issue(self, number: str) -> LocalIssue:
        """One issue; NotFound otherwise."""
        path = self.folder / "issues" / f"{number.lstrip('#')}.json"
        if not number.lstrip("#").isdigit() or not path.is_file():
            raise NotFound(f"the local forge has no issue {number}")
        return LocalIssue.model_validate_json(path.read_text())

    def add_issue(self, *, title: str, body: str, author: str, labels: list[str] | None = None,
                  state: Literal["open", "closed"] = "open") -> LocalIssue:
        """Record an issue as `author` opened it (mlpin's own are by MLPIN_AUTHOR; a person's, by
        their name): for people and tests; mlpin opens its own with `open_issue`."""
        with self.locked():
            now = _now()
            issue = LocalIssue(number=self.next_number(), title=title, body=body, labels=labels or [], author=author,
                               state=state, created_at=now, updated_at=now)
            self._save_issue(issue)
        return issue

    def _save_issue(self, issue: LocalIssue) -> None:
        write_atomic(self.folder / "issues" / f"{issue.number}.json", issue.model_dump_json(indent=2) + "\n")

    def _ref(self, issue: LocalIssue, *, created: bool = False, changed: bool = False) -> IssueRef:
        return IssueRef(number=str(issue.number), url=str(self.folder / "issues" / f"{issue.number}.json"),
                        state=issue.state, title=issue.title, body=issue.body, created=created, changed=changed)

    def _find(self, fingerprint: str) -> LocalIssue | None:
        found = [i for i in self.issues() if i.author == MLPIN_AUTHOR and i.body.startswith(fingerprint)]
        opened = [i for i in found if i.state == "open"]
        return max(opened or found, key=lambda i: (i.updated_at, i.number), default=None)

    def find_issue(self, fingerprint: str) -> IssueRef | None:
        """mlpin's issue whose body starts with `fingerprint`: the open one, else the most recently updated."""
        found = self._find(fingerprint)
        return None if found is None else self._ref(found)

    def open_issue(self, *, fingerprint: str, title: str, body: str, labels: list[str]) -> IssueRef:
        """Reopen and update mlpin's issue `fingerprint` where anything differs (labels asked for
        are added, others kept), else create it; under the lock, so racing checks open one."""
        check_fingerprint(fingerprint, body)
        with self.locked():
            found = self._find(fingerprint)
            if found is None:
                now = _now()
                issue = LocalIssue(number=self.next_number(), title=title, body=body, author=MLPIN_AUTHOR,
                                   labels=list(dict.fromkeys(labels)), created_at=now, updated_at=now)
                self._save_issue(issue)
                return self._ref(issue, created=True, changed=True)
            wanted = found.model_copy(update={"state": "open", "title": title, "body": body,
                                              "labels": list(dict.fromkeys([*found.labels, *labels]))})
            changed = wanted != found
            if changed:
                self._save_issue(wanted.model_copy(update={"updated_at": _now()}))
            return self._ref(wanted, changed=changed)

    def _issue_dir(self, number: str) -> Path:
        return self.folder / "issues" / str(self.issue(number).number)

    def issue_comment_files(self, number: str) -> list[Path]:
        """Comment files of an issue, oldest first, whoever wrote them."""
        folder = self._issue_dir(number)
        return sorted(folder.glob("*.md"), key=lambda p: int(p.stem)) if folder.is_dir() else []

    def add_issue_comment(self, number: str, body: str, *, author: str) -> Path:
        """Add a comment by `author` as the issue's next one (the author is recorded first)."""
        files = self.issue_comment_files(number)
        path = self._issue_dir(number) / f"{int(files[-1].stem) + 1 if files else 1}.md"
        write_atomic(path.with_suffix(".json"), json.dumps({"author": author}) + "\n")
        write_atomic(path, body)
        self._save_issue(self.issue(number).model_copy(update={"updated_at": _now()}))
        return path

    def _own_issue_comments(self, number: str) -> list[str]:
        own = []
        for path in self.issue_comment_files(number):
            record = path.with_suffix(".json")
            if record.is_file() and json.loads(record.read_text())["author"] == MLPIN_AUTHOR:
                own.append(path.read_text(encoding="utf-8"))
        return own

    def issue_comments(self, number: str) -> list[str]:
        """The bodies of mlpin's own comments on the issue, oldest first."""
        return self._own_issue_comments(number)

    def comment_issue(self, number: str, body: str) -> None:
        """Add mlpin's comment `body` unless mlpin's newest comment on the issue already is `body`."""
        with self.locked():
            self._comment_once(number, body)

    def _comment_once(self, number: str, body: str) -> None:
        own = self._own_issue_comments(number)
        if not own or own[-1] != body:
            self.add_issue_comment(number, body, author=MLPIN_AUTHOR)

    def close_issue(self, number: str, *, comment: str) -> bool:
        """Comment (unless mlpin's newest comment already is `comment`), then close; False when already closed."""
        with self.locked():
            if self.issue(number).state == "closed":
                return False
            self._comment_once(number, comment)
            self._save_issue(self.issue(number).model_copy(update={"state": "closed", "updated_at": _now()}))
        return True
