"""The forge of the embedded default: pull requests, comments, commit statuses,
deployments and issues (in `localissues`) as files. Pull requests are real branches of the repository; merging one
(`mlpin forge merge`) is a git merge done by the stage, recorded here.

Layout under `.mlpin/forge/` (or `MLPIN_FORGE_DIR`, to share one forge between clones):
  pulls/<n>.json           a pull request: head and base branch, title, body, state,
                           and once merged: merge commit, approver, time
  prs/<pr>/<n>.md          one file per comment; the marker is its first line
  prs/<pr>/<n>.json        who wrote comment <n>: {"author": ...}; `mlpin` for mlpin's
                           own, the local git user for a person's. mlpin finds and edits
                           only comments whose author is `mlpin`: one without a record
                           (written before authors were recorded) is someone else's
  statuses/<sha>.json      {context: {state, description, target_url}}
  deployments.json         every deployment, oldest first: commit, time, latest state and
                           description, payload (what each model came to)
  issues/                  issues and their comments: see `localissues`
Comments may name a PR by number or, for a branch with no pull request, by branch name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from pipelines.adapters import git
from pipelines.adapters.atomic import write_atomic
from pipelines.adapters.forge import MARKER_PREFIX, CommentRef, Deployment, DeploymentState, Merge, PullRef, StatusState
from pipelines.adapters.localissues import MLPIN_AUTHOR, LocalIssue, LocalIssues
from pipelines.core.errors import InvalidInput, NotFound


class LocalPull(BaseModel):
    """One pull request of the local forge."""

    number: int
    head: str
    base: str
    title: str
    body: str
    state: Literal["open", "merged", "closed"] = "open"
    created_at: str
    merge_commit: str | None = None
    merged_by: str | None = None
    merged_at: str | None = None


def now_iso() -> str:
    """The current UTC time, to the second, as ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class ForgeSnapshot(BaseModel):
    """What the local forge holds: pull requests, comment bodies per PR, statuses per
    commit, deployments, issues."""

    pulls: list[LocalPull] = []
    issues: list[LocalIssue] = []
    comments: dict[str, list[str]]
    statuses: dict[str, dict[str, dict]]
    deployments: list[dict] = []


def _deployment(record: dict, *, created: bool = False) -> Deployment:
    fields = ("id", "sha", "environment", "created_at", "state", "payload")
    return Deployment(**{k: record[k] for k in fields}, created=created, description=record.get("description", ""))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


class LocalForge(LocalIssues):
    """Pull requests, comments, statuses, deployments and issues of the local repository,
    kept under `.mlpin/forge/`."""

    name = "local"

    def __init__(self, root: Path, *, folder: Path | None = None) -> None:
        self.root = root
        self.folder = folder or root / ".mlpin" / "forge"

    # --- pull requests ------------------------------------------------------------

    def pulls(self) -> list[LocalPull]:
        """Every pull request, oldest first."""
        folder = self.folder / "pulls"
        paths = sorted(folder.glob("*.json"), key=lambda p: int(p.stem)) if folder.is_dir() else []
        return [LocalPull.model_validate_json(p.read_text()) for p in paths]

    def _pull_numbers(self) -> list[int]:
        return [p.number for p in self.pulls()]

    def pull(self, number: str) -> LocalPull:
        """One pull request; NotFound naming the open ones otherwise."""
        for found in self.pulls():
            if str(found.number) == str(number).lstrip("#"):
                return found
        open_ones = [f"#{p.number} ({p.head})" for p in self.pulls() if p.state == "open"]
        raise NotFound(f"the local forge has no pull request {number}; open: {', '.join(open_ones) or 'none'}")

    def pull_files(self, pr: str) -> list[str]:
        """The paths the PR's branch changes since it left its base; none for an unknown PR."""
        try:
            pull = self.pull(pr)
        except NotFound:
            return []
        return git.diff_names(self.root, git.merge_base(self.root, pull.base, pull.head), pull.head)

    def pull_for_branch(self, head: str) -> LocalPull | None:
        """The open pull request from branch `head`, if any."""
        return next((p for p in self.pulls() if p.head == head and p.state == "open"), None)

    def open_pull_for(self, head: str) -> PullRef | None:
        """The open pull request from `head`, as a reference."""
        found = self.pull_for_branch(head)
        return (
            None
            if found is None
            else PullRef(str(found.number), self._pull_path(found.number), created=False, changed=False)
        )

    def close_pull(self, pr: str, *, comment: str) -> bool:
        """Comment (upserted by its marker line) and close the open pull request `pr`."""
        pull = self.pull(pr)
        if pull.state != "open":
            return False
        self.upsert_comment(str(pull.number), comment.split("\n", 1)[0], comment)
        self._save_pull(pull.model_copy(update={"state": "closed"}))
        return True

    def own_comment(self, pr: str, marker: str) -> str | None:
        """The body of mlpin's own comment on `pr` starting with `marker`."""
        bodies = (path.read_text(encoding="utf-8") for path in self._own_comments(pr))
        return next((body for body in bodies if body.startswith(marker)), None)

    def _save_pull(self, pull: LocalPull) -> None:
        write_atomic(self.folder / "pulls" / f"{pull.number}.json", pull.model_dump_json(indent=2) + "\n")

    def open_pull(self, *, head: str, base: str, title: str, body: str) -> PullRef:
        """Open a pull request from `head`, or update the open one's title and body."""
        if head == base:
            raise InvalidInput(f"a pull request needs two branches; head and base are both '{head}'")
        found = self.pull_for_branch(head)
        if found is not None:
            changed = (found.title, found.body, found.base) != (title, body, base)
            if changed:
                self._save_pull(found.model_copy(update={"title": title, "body": body, "base": base}))
            return PullRef(str(found.number), self._pull_path(found.number), created=False, changed=changed)
        with self.locked():  # one number space with issues, as on GitHub
            number = self.next_number()
            self._save_pull(LocalPull(number=number, head=head, base=base, title=title, body=body,
                                      created_at=now_iso()))
        return PullRef(str(number), self._pull_path(number), created=True, changed=True)

    def _pull_path(self, number: int) -> str:
        return str(self.folder / "pulls" / f"{number}.json")

    def record_merge(self, number: str, *, merge_commit: str, approver: str) -> LocalPull:
        """Mark an open pull request merged by `approver` into `merge_commit`."""
        pull = self.pull(number)
        if pull.state != "open":
            raise InvalidInput(f"pull request #{pull.number} is already {pull.state}")
        merged = pull.model_copy(
            update={"state": "merged", "merge_commit": merge_commit, "merged_by": approver, "merged_at": now_iso()}
        )
        self._save_pull(merged)
        return merged

    def merged_pull(self, sha: str) -> Merge | None:
        """The pull request whose merge commit is `sha`."""
        for pull in self.pulls():
            if pull.state == "merged" and pull.merge_commit == sha:
                return Merge(pr=str(pull.number), approver=pull.merged_by or "unknown", merged_at=pull.merged_at or "")
        return None

    # --- deployments --------------------------------------------------------------

    def _deployment_records(self) -> list[dict]:
        path = self.folder / "deployments.json"
        return json.loads(path.read_text()) if path.is_file() else []

    def record_deployment(
        self, *, sha: str, environment: str, description: str, payload: dict, state: DeploymentState
    ) -> Deployment:
        """Reuse the newest deployment of `sha` when its payload is the same (its status
        updated in place), else append one."""
        records = self._deployment_records()
        newest = next((r for r in reversed(records) if (r["sha"], r["environment"]) == (sha, environment)), None)
        if newest is not None and newest["payload"] == payload:
            if (newest["state"], newest.get("description")) != (state, description):
                newest.update(state=state, description=description)
                self._save_deployments(records)
            return _deployment(newest)
        record = {"id": str(len(records) + 1), "sha": sha, "environment": environment, "created_at": now_iso(),
                  "state": state, "description": description, "payload": payload}
        self._save_deployments([*records, record])
        return _deployment(record, created=True)

    def _save_deployments(self, records: list[dict]) -> None:
        write_atomic(self.folder / "deployments.json", json.dumps(records, indent=2) + "\n")

    def deployments(self, environment: str) -> list[Deployment]:
        """Deployments to `environment`, newest first."""
        return [_deployment(r) for r in self._deployment_records()[::-1] if r["environment"] == environment]

    def newest_deployments(self, environment: str, *, need_state: Callable[[dict], bool]) -> Iterator[Deployment]:
        """Deployments to `environment`, newest first (one file: the state costs nothing, so it is always read)."""
        return iter(self.deployments(environment))

    def _pr_dir(self, pr: str) -> Path:
        return self.folder / "prs" / _safe(pr)

    def comments(self, pr: str) -> list[Path]:
        """Comment files of a PR, oldest first, whoever wrote them."""
        folder = self._pr_dir(pr)
        return sorted(folder.glob("*.md"), key=lambda p: int(p.stem)) if folder.is_dir() else []

    def comment_author(self, path: Path) -> str | None:
        """Who wrote the comment in `path`; None when that was not recorded."""
        record = path.with_suffix(".json")
        return json.loads(record.read_text())["author"] if record.is_file() else None

    def _own_comments(self, pr: str) -> list[Path]:
        return [path for path in self.comments(pr) if self.comment_author(path) == MLPIN_AUTHOR]

    def comment_markers(self, pr: str) -> list[str]:
        """The first line of each of mlpin's own comments of the PR that starts with an mlpin marker."""
        firsts = [path.read_text(encoding="utf-8").split("\n", 1)[0] for path in self._own_comments(pr)]
        return [line for line in firsts if line.startswith(MARKER_PREFIX)]

    def upsert_comment(self, pr: str, marker: str, body: str) -> CommentRef:
        """Rewrite mlpin's own comment file starting with `marker`, or add the next one;
        a comment by anyone else is never rewritten, even when it starts with `marker`."""
        for path in self._own_comments(pr):
            old = path.read_text(encoding="utf-8")
            if old.startswith(marker):
                if old != body:
                    write_atomic(path, body)
                return CommentRef(path.stem, str(path), created=False, changed=old != body)
        path = self.add_comment(pr, body, author=MLPIN_AUTHOR)
        return CommentRef(path.stem, str(path), created=True, changed=True)

    def add_comment(self, pr: str, body: str, *, author: str) -> Path:
        """Add a comment by `author` (mlpin's own are by MLPIN_AUTHOR; a person's, by their git
        user name) as the PR's next one. The author is recorded first, so no comment is ever
        left without one."""
        files = self.comments(pr)
        path = self._pr_dir(pr) / f"{int(files[-1].stem) + 1 if files else 1}.md"
        write_atomic(path.with_suffix(".json"), json.dumps({"author": author}) + "\n")
        write_atomic(path, body)
        return path

    def check_pr_head(self, pr: str, sha: str) -> None:
        """Local PRs are this machine's own branches: nothing untrusted to check."""

    def statuses(self, sha: str) -> dict[str, dict]:
        """Statuses of a commit by context."""
        path = self.folder / "statuses" / f"{_safe(sha)}.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def set_status(
        self, sha: str, *, context: str, state: StatusState, description: str, target_url: str | None = None
    ) -> None:
        """Record the latest status of `context` on `sha`."""
        current = self.statuses(sha)
        current[context] = {"state": state, "description": description, "target_url": target_url}
        write_atomic(
            self.folder / "statuses" / f"{_safe(sha)}.json", json.dumps(current, indent=2, sort_keys=True) + "\n"
        )

    def all_statuses(self) -> dict[str, dict[str, dict]]:
        """Every recorded status, by commit then context."""
        folder = self.folder / "statuses"
        return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}

    def snapshot(self, prs: list[str]) -> ForgeSnapshot:
        """Comments of `prs` and every status, as one record."""
        comments = {pr: [p.read_text(encoding="utf-8") for p in self.comments(pr)] for pr in prs}
        return ForgeSnapshot(pulls=self.pulls(), comments=comments, statuses=self.all_statuses(),
                             deployments=self._deployment_records(), issues=self.issues())

    def prs(self) -> list[str]:
        """PRs that have comments or a pull request record."""
        folder = self.folder / "prs"
        named = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        named |= {str(p.number) for p in self.pulls()}
        return sorted(named, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
