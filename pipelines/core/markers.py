"""The hidden first lines by which mlpin finds its own comments and PR bodies again.

Every marker is `<!-- mlpin:<kind>:<subject> -->`, built here and nowhere else, so a
comment written by one command is always found (and updated in place) by the next.
Anyone can type a marker: the forge also checks a comment's author, so only mlpin's own
comments are found by it.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"<!-- mlpin:(candidate|propose|promote|rollback):[a-z0-9_-]+ -->")
CANDIDATE_MARKER = re.compile(r"<!-- mlpin:candidate:([a-z0-9_-]+) -->")


def marker(kind: str, subject: str) -> str:
    """The marker of `kind` (candidate, propose, promote, rollback) for `subject` (a model)."""
    return f"<!-- mlpin:{kind}:{subject} -->"


def candidate_marker(model: str) -> str:
    """A model's candidate comment on a PR."""
    return marker("candidate", model)


NO_MODEL_MARKER = marker("candidate", "none")  # the PR-level comment: no model affected, or files do not load


def propose_marker(model: str) -> str:
    """The comment on a merged PR whose candidate was blocked."""
    return marker("propose", model)


def promote_marker(model: str) -> str:
    """The body of a model's promotion PR."""
    return marker("promote", model)


def rollback_marker(model: str) -> str:
    """The body of a model's rollback PR."""
    return marker("rollback", model)
