"""The `mlpin/candidate` commit status of a run, from its per-model outcomes. Pure.

`mlpin candidate` and the privileged `mlpin report post` both call it, so the status
set on a commit is always derived by mlpin's own code, never read from a file.
"""

from __future__ import annotations

from collections.abc import Iterable


def run_status(outcomes: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """(state, description) for `(model, outcome)` pairs; the PR-level outcome has model ""."""
    pairs = list(outcomes)
    errors = [m for m, o in pairs if o == "error"]
    blocked = [m for m, o in pairs if o == "blocked"]
    if errors:
        return "error", f"not evaluated: {', '.join(errors)}"
    if blocked:
        return "failure", f"blocked: {', '.join(blocked)}"
    passed = [m for m, _ in pairs if m]
    return "success", f"passed: {', '.join(passed)}" if passed else "no model affected"
