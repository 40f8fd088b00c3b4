"""Which models a change affects, from the list of changed paths."""

from __future__ import annotations

from pipelines.core.workspace import Workspace, pointer_path, policy_path, spec_path

# Changes here can change any model's training.
CODE_PREFIXES = ("pipelines/",)
CODE_FILES = ("pyproject.toml", "requirements/constraints.txt")


def affected_models(ws: Workspace, changed: list[str]) -> dict[str, list[str]]:
    """Model -> the reasons it is affected: its spec, data pointer, data file, policy, drift holdout,
    or mlpin itself."""
    changed_set = set(changed)
    code = sorted(p for p in changed if p.startswith(CODE_PREFIXES) or p in CODE_FILES)
    found: dict[str, list[str]] = {}
    for name, spec in sorted(ws.specs.items()):
        pointer = ws.pointers.get(spec.data)
        images = ws.images.get(spec.data)
        candidates = {
            spec_path(name): "training spec changed",
            pointer_path(spec.data): "data pointer changed",
            policy_path(spec.policy): "promotion policy changed",
        }
        if pointer is not None and "://" not in pointer.uri:
            candidates[pointer.uri] = "data file changed"
        if spec.drift_holdout:
            holdout = ws.pointers.get(spec.drift_holdout)
            candidates[pointer_path(spec.drift_holdout)] = "drift holdout changed"
            if holdout is not None and "://" not in holdout.uri:
                candidates[holdout.uri] = "drift holdout changed"
        reasons = [reason for path, reason in candidates.items() if path in changed_set]
        if images is not None and any(p.startswith(images.uri.rstrip("/") + "/") for p in changed):
            reasons.append("images changed")
        if code:
            reasons.append(f"mlpin code changed ({code[0]}{' and more' if len(code) > 1 else ''})")
        if reasons:
            found[name] = reasons
    return found
