"""`mlpin validate`: every committed file against its schema and the others, every
data pointer against its digest and contract, every estimator's hyperparameters.
Reports all problems in one error; writes nothing."""

from __future__ import annotations

from pydantic import BaseModel

from pipelines.core.errors import ConfigError, DataError, Problem
from pipelines.core.workspace import pointer_path, spec_path
from pipelines.stages.context import StageContext
from pipelines.tasks.estimators import check_params


class ValidationReport(BaseModel):
    """What was checked and found valid."""

    models: list[str]
    datasets: dict[str, int]  # dataset -> rows
    policies: list[str]
    pinned: list[str]


def validate(ctx: StageContext) -> ValidationReport:
    """Check everything; ConfigError lists every problem of every file."""
    ws = ctx.workspace
    problems: dict[str, list[Problem]] = {}
    for name, spec in sorted(ws.specs.items()):
        found = check_params(spec.task, spec.estimator.kind, spec.estimator.params)
        if found:
            problems[spec_path(name)] = found
    rows: dict[str, int] = {}
    for name, pointer in sorted(ws.pointers.items()):
        targets = pointer.names("target")
        try:
            rows[name] = len(ctx.table(name, target=targets[0] if len(targets) == 1 else None))
        except DataError as exc:
            problems.setdefault(pointer_path(name), []).extend(
                [Problem("", exc.message.removeprefix(f"{pointer_path(name)}: ")), *exc.problems]
            )
    if problems:
        raise ConfigError(problems)
    return ValidationReport(
        models=sorted(ws.specs), datasets=rows, policies=sorted(ws.policies), pinned=sorted(ws.pins.models)
    )
