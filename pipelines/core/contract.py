"""Typing a raw table by its column schema, and checking it against the data contract.

Both return every problem found rather than stopping at the first one.
"""

from __future__ import annotations

import pandas as pd

from pipelines.core.errors import Problem
from pipelines.core.schemas import DataPointer

EXAMPLES = 3
DELIMITERS = (";", "\t", "|")  # what a CSV read with the wrong one shows in its single header


def coerce_frame(raw: pd.DataFrame, pointer: DataPointer) -> tuple[pd.DataFrame, list[Problem]]:
    """Cast each declared column to its type: numbers to float64, categories to str.

    Numbers are float64 even for `int` columns so that a missing value never changes
    the dtype, and the model's signature is the same with or without gaps.
    """
    problems = _column_set_problems(raw, pointer)
    typed: dict[str, pd.Series] = {}
    for column in pointer.columns:
        if column.name not in raw.columns:
            continue
        series = raw[column.name]
        if column.type == "category":
            typed[column.name] = series.where(series.isna(), series.astype(str)).astype(object)
            continue
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        problems += _unparsed(column.name, series, numbers=numbers)
        if column.type == "int":
            problems += _non_integral(column.name, numbers)
        typed[column.name] = numbers
    return pd.DataFrame(typed, index=raw.index), problems


def _column_set_problems(raw: pd.DataFrame, pointer: DataPointer) -> list[Problem]:
    declared = pointer.names()
    missing = [name for name in declared if name not in raw.columns]
    extra = [str(name) for name in raw.columns if name not in declared]
    if pointer.format == "csv" and missing and len(extra) == 1 and len(raw.columns) == 1:
        delimiter = next((d for d in DELIMITERS if d in extra[0]), None)
        if delimiter is not None:
            # Every declared column is "missing" and the header is "undeclared": one cause, one message.
            return [
                Problem("columns", f"one column named {extra[0]!r}: is the delimiter {delimiter!r}? "
                        "mlpin reads CSV separated by commas; save the file with ',' between values")
            ]
    problems = []
    if missing:
        problems.append(Problem("columns", f"declared but missing from the data: {missing}"))
    if extra:
        problems.append(
            Problem("columns", f"in the data but not declared: {extra}; declare them (role: ignore to skip)")
        )
    return problems


def _unparsed(name: str, raw: pd.Series, *, numbers: pd.Series) -> list[Problem]:
    bad = raw[raw.notna() & numbers.isna()]
    if bad.empty:
        return []
    sample = ", ".join(repr(str(v)) for v in bad.unique()[:EXAMPLES])
    return [Problem(name, f"expected numbers; {len(bad)} values are not, e.g. {sample}")]


def _non_integral(name: str, numbers: pd.Series) -> list[Problem]:
    present = numbers.dropna()
    bad = present[present != present.round()]
    if bad.empty:
        return []
    return [Problem(name, f"expected whole numbers (type: int); {len(bad)} values are not, e.g. {bad.iloc[0]}")]


def check_contract(frame: pd.DataFrame, pointer: DataPointer, *, target: str | None) -> list[Problem]:
    """Every contract violation of a typed frame: rows, nulls, ranges, labels, category values."""
    contract = pointer.contract
    problems: list[Problem] = []
    if len(frame) < contract.min_rows:
        problems.append(Problem("row count", f"expected at least {contract.min_rows} rows; found {len(frame)}"))
    for name in frame.columns:
        problems += _null_problems(frame[name], contract.allowed_nulls(name))
    for name, bounds in contract.ranges.items():
        if name in frame.columns:
            problems += _range_problems(frame[name], low=bounds.min, high=bounds.max)
    if contract.labels is not None and target in frame.columns:
        problems += _label_problems(frame[target], contract.labels)
    for name in contract.values:
        allowed = contract.allowed_values(name)
        if allowed is not None and name in frame.columns:
            problems += _value_problems(frame[name], allowed)
    return problems


def _null_problems(series: pd.Series, allowed: float) -> list[Problem]:
    if series.empty:
        return []
    fraction = float(series.isna().mean())
    if fraction <= allowed:
        return []
    return [
        Problem(
            str(series.name),
            f"expected at most {allowed:.1%} missing values; found {fraction:.1%} ({int(series.isna().sum())} rows)",
        )
    ]


def _range_problems(series: pd.Series, *, low: float | None, high: float | None) -> list[Problem]:
    problems = []
    if low is not None and (series < low).any():
        below = series[series < low]
        problems.append(
            Problem(str(series.name), f"expected values >= {low}; {len(below)} below, smallest {below.min()}")
        )
    if high is not None and (series > high).any():
        above = series[series > high]
        problems.append(
            Problem(str(series.name), f"expected values <= {high}; {len(above)} above, largest {above.max()}")
        )
    return problems


def _label_problems(series: pd.Series, labels: list) -> list[Problem]:
    allowed = {str(label) for label in labels}
    present = series.dropna().astype(str)
    unknown = sorted(set(present.unique()) - allowed)
    if not unknown:
        return []
    count = int(present.isin(unknown).sum())
    return [
        Problem(
            str(series.name), f"expected labels in {sorted(allowed)}; {count} rows have others: {unknown[:EXAMPLES]}"
        )
    ]


def _value_problems(series: pd.Series, allowed: list[str]) -> list[Problem]:
    present = series.dropna().astype(str)
    unknown = sorted(set(present.unique()) - set(allowed))
    if not unknown:
        return []
    count = int(present.isin(unknown).sum())
    return [
        Problem(
            str(series.name),
            f"expected values in {allowed} (contract.values); {count} rows have others: {unknown[:EXAMPLES]}",
        )
    ]
