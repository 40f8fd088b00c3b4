"""The forge of the embedded default: PR comments and commit statuses as files.

Layout under `.mlpin/forge/`:
  prs/<pr>/<n>.md          one file per comment; the marker is its first line
  statuses/<sha>.json      {context: {state, description, target_url}}
PRs are named by number or by branch name; later stages add real branches here.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters.forge import CommentRef, StatusState


class ForgeSnapshot(BaseModel):
    """What the local forge holds: comment bodies per PR, statuses per commit."""

    comments: dict[str, list[str]]
    statuses: dict[str, dict[str, dict]]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


class LocalForge:
    """Comments and statuses of the local repository, kept under `.mlpin/forge/`."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.folder = root / ".mlpin" / "forge"

    def _pr_dir(self, pr: str) -> Path:
        return self.folder / "prs" / _safe(pr)

    def comments(self, pr: str) -> list[Path]:
        """Comment files of a PR, oldest first."""
        folder = self._pr_dir(pr)
        return sorted(folder.glob("*.md"), key=lambda p: int(p.stem)) if folder.is_dir() else []

    def upsert_comment(self, pr: str, marker: str, body: str) -> CommentRef:
        """Rewrite the comment file starting with `marker`, or add the next one."""
        files = self.comments(pr)
        for path in files:
            old = path.read_text(encoding="utf-8")
            if old.startswith(marker):
                if old != body:
                    _atomic_write(path, body)
                return CommentRef(path.stem, str(path), created=False, changed=old != body)
        path = self._pr_dir(pr) / f"{int(files[-1].stem) + 1 if files else 1}.md"
        _atomic_write(path, body)
        return CommentRef(path.stem, str(path), created=True, changed=True)

    def check_pr_head(self, pr: str, sha: str) -> None:
        """Local PRs are this machine's own branches: nothing untrusted to check."""

    def statuses(self, sha: str) -> dict[str, dict]:
        """Statuses of a commit by context."""
        path = self.folder / "statuses" / f"{_safe(sha)}.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def set_status(self, sha: str, *, context: str, state: StatusState, description: str, target_url: str | None = None) -> None:
        """Record the latest status of `context` on `sha`."""
        current = self.statuses(sha)
        current[context] = {"state": state, "description": description, "target_url": target_url}
        _atomic_write(self.folder / "statuses" / f"{_safe(sha)}.json", json.dumps(current, indent=2, sort_keys=True) + "\n")

    def all_statuses(self) -> dict[str, dict[str, dict]]:
        """Every recorded status, by commit then context."""
        folder = self.folder / "statuses"
        return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}

    def snapshot(self, prs: list[str]) -> ForgeSnapshot:
        """Comments of `prs` and every status, as one record."""
        comments = {pr: [p.read_text(encoding="utf-8") for p in self.comments(pr)] for pr in prs}
        return ForgeSnapshot(comments=comments, statuses=self.all_statuses())

    def prs(self) -> list[str]:
        """PRs that have comments."""
        folder = self.folder / "prs"
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
