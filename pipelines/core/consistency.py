"""Checks that span files: a spec's data, columns, estimator and policy must exist and fit.

Returns problems keyed by the file that must change; never raises for bad content.
"""

from __future__ import annotations

from pipelines.core.catalog import ESTIMATORS, IMAGE_TASKS, METRICS, all_metric_names
from pipelines.core.errors import Problem
from pipelines.core.schemas import Column, DataPointer, ModelSpec, PromotionPolicy
from pipelines.core.workspace import PIN_PATH, Workspace, pointer_path, policy_path, spec_path

NUMERIC = ("float", "int")


def check_workspace(ws: Workspace, *, unloaded: frozenset[str] = frozenset()) -> dict[str, list[Problem]]:
    """Every cross-file problem, grouped by the path of the file to fix. `unloaded`: paths of
    files that exist but did not load (their own problems say why), so naming one is no problem."""
    found: dict[str, list[Problem]] = {}
    for stem, spec in sorted(ws.specs.items()):
        _add(found, spec_path(stem), problems=check_spec(stem, spec, ws=ws, unloaded=unloaded))
    for stem, pointer in sorted(ws.pointers.items()):
        _add(found, pointer_path(stem), problems=check_pointer(pointer))
    for stem, policy in sorted(ws.policies.items()):
        _add(found, policy_path(stem), problems=check_policy(policy))
    unknown = sorted(m for m in set(ws.pins.models) - set(ws.specs) if spec_path(m) not in unloaded)
    _add(
        found,
        PIN_PATH,
        problems=[Problem(f"models.{m}", f"pins a model with no spec ({spec_path(m)})") for m in unknown],
    )
    return found


def _add(found: dict[str, list[Problem]], path: str, *, problems: list[Problem]) -> None:
    if problems:
        found.setdefault(path, []).extend(problems)


def check_spec(
    stem: str, spec: ModelSpec, *, ws: Workspace, unloaded: frozenset[str] = frozenset()
) -> list[Problem]:
    """Problems of one spec against the data pointers and policies that exist (or did not load)."""
    problems: list[Problem] = []
    if spec.name != stem:
        problems.append(Problem("name", f"must match the file name '{stem}'; found '{spec.name}'"))
    kinds = ESTIMATORS[spec.task]
    if spec.estimator.kind not in kinds:
        problems.append(
            Problem(
                "estimator.kind",
                f"expected one of {', '.join(kinds)} for task {spec.task}; found '{spec.estimator.kind}'",
            )
        )
    if spec.policy not in ws.policies and policy_path(spec.policy) not in unloaded:
        problems.append(Problem("policy", f"{policy_path(spec.policy)} does not exist"))
    if spec.task in IMAGE_TASKS:
        return problems + check_image_spec(spec, ws=ws, unloaded=unloaded)
    if spec.data in ws.images:
        return problems + [Problem("data", f"{pointer_path(spec.data)} is an image folder; task {spec.task} trains "
                                           f"on a table: name a csv or parquet pointer, or use image_classification")]
    pointer = ws.pointers.get(spec.data)
    if pointer is None:
        if pointer_path(spec.data) not in unloaded:
            problems.append(Problem("data", f"{pointer_path(spec.data)} does not exist"))
        return problems
    return problems + check_columns(spec, pointer) + check_holdout(spec, pointer, ws=ws, unloaded=unloaded)


def check_image_spec(spec: ModelSpec, *, ws: Workspace, unloaded: frozenset[str] = frozenset()) -> list[Problem]:
    """An image task trains on an image or raw folder; columns, target and features do not apply."""
    path = pointer_path(spec.data)
    if spec.data in ws.pointers:
        return [Problem("data", f"{path} is a table; {spec.task} trains on an image folder "
                                "(format: image_folder or raw_folder)")]
    if spec.data not in ws.images:
        return [] if path in unloaded else [Problem("data", f"{path} does not exist")]
    problems = []
    for key in ("target", "features", "drift_holdout"):
        if getattr(spec, key) is not None:
            problems.append(Problem(key, f"does not apply to {spec.task} (labels are the folders of {path}); "
                                         "remove it"))
    return problems


def check_holdout(spec: ModelSpec, pointer: DataPointer, *, ws: Workspace,
                  unloaded: frozenset[str] = frozenset()) -> list[Problem]:
    """A `drift_holdout` must name a pointer that declares exactly the columns of the spec's data."""
    if spec.drift_holdout is None:
        return []
    path = pointer_path(spec.drift_holdout)
    holdout = ws.pointers.get(spec.drift_holdout)
    if holdout is None:
        return [] if path in unloaded else [
            Problem("drift_holdout", f"{path} does not exist; name a data pointer, or remove the key")]
    if spec.drift_holdout == spec.data:
        return [Problem("drift_holdout", f"is the training data ({pointer_path(spec.data)}); name rows held out of it")]
    ours = {c.name: (c.type, c.role) for c in pointer.columns}
    theirs = {c.name: (c.type, c.role) for c in holdout.columns}
    differ = sorted(n for n in set(ours) | set(theirs) if ours.get(n) != theirs.get(n))
    if not differ:
        return []
    return [Problem("drift_holdout", f"{path} declares other columns than {pointer_path(spec.data)} "
                                     f"(name, type or role differ: {differ}); declare the same columns in both")]


def check_columns(spec: ModelSpec, pointer: DataPointer) -> list[Problem]:
    """The spec's target and features must be declared columns with fitting roles and types."""
    problems: list[Problem] = []
    target = resolve_target(spec, pointer)
    if target is None:
        targets = pointer.names("target")
        problems.append(
            Problem("target", f"not set and data/{spec.data}.yaml declares {len(targets)} target columns; name one")
        )
    elif (column := pointer.column(target)) is None:
        problems.append(Problem("target", f"column '{target}' is not declared in data/{spec.data}.yaml"))
    else:
        problems += _target_problems(spec, pointer, column=column)
    for index, name in enumerate(spec.features or []):
        column = pointer.column(name)
        if column is None:
            problems.append(Problem(f"features[{index}]", f"column '{name}' is not declared in data/{spec.data}.yaml"))
        elif name == target:
            problems.append(Problem(f"features[{index}]", f"'{name}' is the target; it cannot also be a feature"))
    if spec.features is not None and not spec.features:
        problems.append(
            Problem("features", "an empty list trains on nothing; remove the key to use every feature column")
        )
    return problems


def _target_problems(spec: ModelSpec, pointer: DataPointer, *, column: Column) -> list[Problem]:
    """The target must have role: target (so the contract's labels are its labels, and no
    feature is silently dropped), be numeric for regression, and have labels for classification."""
    where = f"data/{spec.data}.yaml"
    if column.role != "target":
        return [Problem("target", f"'{column.name}' has role {column.role} in {where}; a target needs role: target")]
    if spec.task == "regression" and column.type not in NUMERIC:
        return [Problem("target", f"regression needs a numeric target; '{column.name}' is {column.type}")]
    if spec.task == "classification" and pointer.contract.labels is None:
        labels = f"classification needs the labels of '{column.name}': set contract.labels in {where}"
        return [Problem("target", labels)]
    return []


def resolve_target(spec: ModelSpec, pointer: DataPointer) -> str | None:
    """The spec's target, or the pointer's single target column."""
    if spec.target is not None:
        return spec.target
    targets = pointer.names("target")
    return targets[0] if len(targets) == 1 else None


def resolve_features(spec: ModelSpec, pointer: DataPointer) -> list[str]:
    """The spec's features, or every feature-role column except the target."""
    if spec.features is not None:
        return list(spec.features)
    target = resolve_target(spec, pointer)
    return [name for name in pointer.names("feature") if name != target]


def check_pointer(pointer: DataPointer) -> list[Problem]:
    """The contract may only name declared columns, and ranges only numeric ones."""
    problems: list[Problem] = []
    for name in pointer.contract.null_fraction:
        if pointer.column(name) is None:
            problems.append(
                Problem(f"contract.null_fraction.{name}", "names a column that is not declared in `columns`")
            )
    for name in pointer.contract.ranges:
        column = pointer.column(name)
        if column is None:
            problems.append(Problem(f"contract.ranges.{name}", "names a column that is not declared in `columns`"))
        elif column.type not in NUMERIC:
            problems.append(
                Problem(f"contract.ranges.{name}", f"ranges apply to numeric columns; '{name}' is {column.type}")
            )
    if pointer.contract.labels is not None and not pointer.names("target"):
        problems.append(Problem("contract.labels", "a label set needs a column with role: target"))
    return problems + _value_problems(pointer)


def _value_problems(pointer: DataPointer) -> list[Problem]:
    """`values` may only name declared category columns (not the target: its values are `labels`),
    each with a non-empty list of distinct values; `allow_unseen` only columns with values."""
    problems: list[Problem] = []
    for name, values in pointer.contract.values.items():
        where = f"contract.values.{name}"
        column = pointer.column(name)
        if column is None:
            problems.append(Problem(where, "names a column that is not declared in `columns`"))
        elif column.type != "category":
            problems.append(Problem(where, f"values apply to category columns; '{name}' is {column.type}"))
        elif column.role == "target":
            problems.append(Problem(where, f"'{name}' is the target; declare its values in contract.labels"))
        text = [str(v) for v in values]
        repeated = sorted({v for v in text if text.count(v) > 1})
        if not values:
            problems.append(Problem(where, "an empty list allows nothing; list the values, or remove the key"))
        elif repeated:
            problems.append(Problem(where, f"values must be distinct; repeated: {repeated}"))
    for index, name in enumerate(pointer.contract.allow_unseen):
        if name not in pointer.contract.values:
            problems.append(
                Problem(f"contract.allow_unseen[{index}]", f"'{name}' has no allowed values in contract.values")
            )
    return problems


def check_policy(policy: PromotionPolicy) -> list[Problem]:
    """Gates may only name metrics some task reports."""
    known = all_metric_names()
    problems: list[Problem] = []
    named: list[tuple[str, list[str]]] = [
        ("metrics", [g.metric for g in policy.metrics]), ("regression", [g.metric for g in policy.regression]),
    ]
    for field, metrics in named:
        for index, metric in enumerate(metrics):
            if not any(metric in table for table in METRICS.values()):
                expected = f"expected one of {', '.join(known)}; found '{metric}'"
                problems.append(Problem(f"{field}[{index}].metric", expected))
    return problems
