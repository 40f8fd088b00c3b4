"""Prediction inputs checked against a model's signature, before anything predicts.

Pure: takes parsed JSON and the signature's columns, returns the records and every
problem found (missing, unknown and wrongly typed fields), each with its location.
Also turns MLflow's scoring payloads into records. Nothing here touches pandas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

# A null is accepted for every column: the models impute missing values.
ACCEPTS: dict[str, tuple[type, ...]] = {
    "double": (int, float), "float": (int, float), "long": (int,), "integer": (int,),
    "string": (str,), "boolean": (bool,),
}
# The exact types json.loads produces that need no closer look (bool is not a number here).
EXACT: dict[str, frozenset[type]] = {
    "double": frozenset({int, float, type(None)}), "float": frozenset({int, float, type(None)}),
    "long": frozenset({int, type(None)}), "integer": frozenset({int, type(None)}),
    "string": frozenset({str, type(None)}), "boolean": frozenset({bool, type(None)}),
}
MAX_PROBLEMS = 1000
MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "inputs")


class InputColumn(BaseModel):
    """One input column of a model's signature (MLflow ColSpec type names)."""

    name: str
    type: Literal["double", "float", "long", "integer", "string", "boolean"]


class InputProblem(BaseModel):
    """One thing wrong with a request body, located like FastAPI's own 422 details."""

    loc: list[str | int]
    msg: str
    type: str


def check_records(body: Any, columns: list[InputColumn]) -> tuple[list[dict], list[InputProblem]]:
    """The records in `body` (one record or a list) and every problem with them."""
    if isinstance(body, dict):
        return [body], _record_problems(body, columns, loc=["body"])
    if not isinstance(body, list) or not body:
        return [], [
            InputProblem(
                loc=["body"], msg="expected a record (an object) or a non-empty list of records", type="type_error"
            )
        ]
    problems: list[InputProblem] = []
    clean = _clean_test(columns)
    for index, record in enumerate(body):
        if clean(record):
            continue
        problems += _record_problems(record, columns, loc=["body", index])
        if len(problems) >= MAX_PROBLEMS:
            return body, _capped(problems)
    return body, problems


def _clean_test(columns: list[InputColumn]) -> Callable[[Any], bool]:
    """A fast yes for the common record (exact keys, exact JSON types); no means look closer."""
    known = {c.name for c in columns}
    kinds = [(c.name, EXACT[c.type]) for c in columns]
    return lambda record: (
        type(record) is dict and record.keys() == known and all(type(record[n]) in ok for n, ok in kinds)
    )


def _record_problems(record: Any, columns: list[InputColumn], *, loc: list[str | int]) -> list[InputProblem]:
    if not isinstance(record, dict):
        return [InputProblem(loc=loc, msg="expected a record (an object)", type="type_error")]
    known = {c.name for c in columns}
    problems = [
        InputProblem(loc=[*loc, c.name], msg="field required", type="missing") for c in columns if c.name not in record
    ]
    problems += [
        InputProblem(
            loc=[*loc, k], msg=f"unknown field; expected only: {', '.join(sorted(known))}", type="extra_forbidden"
        )
        for k in record
        if k not in known
    ]
    return problems + [
        p for c in columns if c.name in record for p in _type_problem(record[c.name], c, loc=[*loc, c.name])
    ]


def _type_problem(value: Any, column: InputColumn, *, loc: list[str | int]) -> list[InputProblem]:
    if value is None:
        return []
    accepted = ACCEPTS[column.type]
    if isinstance(value, accepted) and (bool in accepted or not isinstance(value, bool)):
        return []
    return [
        InputProblem(
            loc=loc,
            msg=f"expected {column.type}, found {type(value).__name__} {value!r:.40}",
            type=f"{column.type}_type",
        )
    ]


def _capped(problems: list[InputProblem]) -> list[InputProblem]:
    more = InputProblem(loc=["body"], msg=f"stopped after {MAX_PROBLEMS} problems", type="too_many_problems")
    return [*problems[:MAX_PROBLEMS], more]


def records_from_mlflow(payload: Any) -> tuple[Any, list[InputProblem]]:
    """The records of an MLflow scoring payload (`dataframe_split`, `dataframe_records`, `inputs`)."""
    keys = sorted(payload) if isinstance(payload, dict) else []
    formats = [k for k in keys if k in MLFLOW_FORMATS]
    others = [k for k in keys if k not in MLFLOW_FORMATS and k != "params"]  # params: accepted, unused
    if len(formats) != 1 or others:
        msg = f"expected an object with exactly one of {', '.join(MLFLOW_FORMATS)}; found keys {keys}"
        return None, [InputProblem(loc=["body"], msg=msg, type="mlflow_format")]
    name = formats[0]
    value = payload[name]
    if name == "dataframe_split":
        return _from_split(value)
    if name == "inputs" and isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        return _from_columns(value)
    return value, []


def _from_split(value: Any) -> tuple[Any, list[InputProblem]]:
    columns, rows = (value.get("columns"), value.get("data")) if isinstance(value, dict) else (None, None)
    if (
        not isinstance(columns, list)
        or not isinstance(rows, list)
        or not all(isinstance(r, list) and len(r) == len(columns) for r in rows)
    ):
        msg = "expected {columns: [...], data: [[...], ...]} with one value per column in every row"
        return None, [InputProblem(loc=["body", "dataframe_split"], msg=msg, type="mlflow_format")]
    return [dict(zip(columns, row, strict=True)) for row in rows], []


def _from_columns(value: dict[str, list]) -> tuple[Any, list[InputProblem]]:
    lengths = {len(v) for v in value.values()}
    if len(lengths) != 1:
        return None, [
            InputProblem(
                loc=["body", "inputs"], msg="every column needs the same number of values", type="mlflow_format"
            )
        ]
    names = list(value)
    return [dict(zip(names, row, strict=True)) for row in zip(*value.values(), strict=True)], []
