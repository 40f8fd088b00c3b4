"""What a command, or one model within it, came to: the one vocabulary stages report in.

Stages and errors say which kind of outcome they are; only the CLI turns a kind into
an exit code, so no other module knows the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Kind(StrEnum):
    """Who acts next, from nobody to a developer of mlpin."""

    DONE = "done"  # nothing to do: it worked, or there was nothing to change
    BLOCKED = "blocked"  # a policy said no; people decide what to change
    INVALID_INPUT = "invalid_input"  # a person must fix a file, the data or an argument
    OUTSIDE_SYSTEM = "outside_system"  # MLflow, git, a forge or a store failed; retry later
    BUG = "bug"  # mlpin itself failed unexpectedly; report it


# The run's kind is its most serious model's: a bug outranks an outage, which outranks
# bad input (retrying cannot fix that), which outranks a policy's "no".
SEVERITY = (Kind.DONE, Kind.BLOCKED, Kind.INVALID_INPUT, Kind.OUTSIDE_SYSTEM, Kind.BUG)


def worst(kinds: Iterable[Kind]) -> Kind:
    """The most serious of `kinds` (DONE when there are none)."""
    return max(kinds, key=SEVERITY.index, default=Kind.DONE)


def is_error(kind: Kind) -> bool:
    """Whether `kind` means something failed (not done, not a policy's verdict)."""
    return kind not in (Kind.DONE, Kind.BLOCKED)
