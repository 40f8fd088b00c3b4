"""`mlpin validate`: every committed file against its schema and the others, every
data pointer against its digest and contract, every estimator's hyperparameters.
Reports all problems in one error, those of files that do not load together with
those of the data of the pointers that do; writes nothing."""

from __future__ import annotations

from pydantic import BaseModel

from pipelines.core.consistency import resolve_target
from pipelines.core.errors import ConfigError, DataError, Problem
from pipelines.core.workspace import Workspace, pointer_path, spec_path
from pipelines.stages.context import StageContext
from pipelines.tasks.estimators import check_params


class ValidationReport(BaseModel):
    """What was checked and found valid."""

    models: list[str]
    datasets: dict[str, int]  # dataset -> rows (images, for an image folder)
    policies: list[str]
    pinned: list[str]


def validate(ctx: StageContext) -> ValidationReport:
    """Check everything; ConfigError lists every problem of every file."""
    ws, found = ctx.loaded_workspace()
    problems = {path: list(ps) for path, ps in found.items()}
    for name, spec in sorted(ws.specs.items()):
        params = check_params(spec.task, spec.estimator.kind, spec.estimator.params)
        if params:
            problems.setdefault(spec_path(name), []).extend(params)
    rows: dict[str, int] = {}
    for name in sorted(ws.pointers):
        for target in _targets(ws, name):
            try:
                rows[name] = len(ctx.table(name, target=target))
            except DataError as exc:
                data = [Problem("", exc.message.removeprefix(f"{pointer_path(name)}: ")), *exc.problems]
                seen = problems.setdefault(pointer_path(name), [])
                seen.extend(p for p in data if p not in seen)  # a digest problem is the same for every target
    for name, pointer in sorted(ws.images.items()):
        from pipelines.tasks.imagedata import verify_folder

        try:
            rows[name] = verify_folder(ctx.root, name, pointer)
        except DataError as exc:
            data = [Problem("", exc.message.removeprefix(f"{pointer_path(name)}: ")), *exc.problems]
            problems.setdefault(pointer_path(name), []).extend(data)
    if problems:
        raise ConfigError(problems)
    return ValidationReport(
        models=sorted(ws.specs), datasets=rows, policies=sorted(ws.policies), pinned=sorted(ws.pins.models)
    )


def _targets(ws: Workspace, dataset: str) -> list[str | None]:
    """The targets the data is checked with: each that a spec trains on (the label check is
    the target's, as in `mlpin train`), else the pointer's single target column."""
    pointer = ws.pointers[dataset]
    used = {resolve_target(spec, pointer) for spec in ws.specs.values() if spec.data == dataset}
    targets: list[str | None] = sorted(t for t in used if t in pointer.names("target"))  # else the spec is invalid
    if targets:
        return targets
    declared = pointer.names("target")
    return [declared[0] if len(declared) == 1 else None]
