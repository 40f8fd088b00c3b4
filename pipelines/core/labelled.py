"""Labelled production rows, checked before anything is written: a CSV of full rows (the
model's columns and its target), or labels by request id joined to the inputs serving
logged for those requests. Pure: frames and logged records in, rows and problems out.

Forms, by the file's header:
- `request_id,label`: the request must have logged exactly one input row;
- `request_id,row,label`: `row` (0-based) picks one input row of a request that logged several;
- anything else: full rows, every feature the model uses and the target column.
Every problem says which line of the file and what to fix; none stops the others being found.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipelines.core.contract import check_contract, coerce_frame
from pipelines.core.errors import Problem
from pipelines.core.schemas import DataPointer

REQUEST_ID, ROW, LABEL = "request_id", "row", "label"
REQUEST_FORMS = ([REQUEST_ID, LABEL], [REQUEST_ID, ROW, LABEL])
Logged = dict[str, list[list[dict[str, Any]]]]


def is_request_form(columns: list[str]) -> bool:
    """Whether a labelled file names requests (`request_id,label` or `request_id,row,label`)."""
    return [str(c) for c in columns] in REQUEST_FORMS


def line(index: int) -> int:
    """The file's line of a 0-based data row (line 1 is the header)."""
    return index + 2


def joined_rows(raw: pd.DataFrame, logged: Logged, *, target: str, source: str,
                model: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Each labelled request's logged input row with its label in `target`; a problem per line
    whose request is unknown, logged twice, ambiguous, or labelled twice."""
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, int], int] = {}
    for index, record in enumerate(raw.to_dict(orient="records")):
        where = f"{source} line {line(index)}"
        picked = _pick(record, logged, model=model)
        if isinstance(picked, str):
            problems.append(Problem(where, picked))
            continue
        key, item = picked
        if key in seen:
            problems.append(Problem(where, f"request {key[0]} row {key[1]} is labelled again (first on line "
                                           f"{seen[key]}); keep one label per row"))
            continue
        seen[key] = line(index)
        rows.append({**item, target: record[LABEL]})
    return pd.DataFrame(rows), problems


def _pick(record: dict[str, Any], logged: Logged, *, model: str) -> tuple[tuple[str, int], dict[str, Any]] | str:
    """((request id, row), the logged input row) for a line, or what is wrong with it."""
    request = record[REQUEST_ID]
    if not isinstance(request, str) or not request.strip():
        return "request_id is empty; give the id serving answered with (its X-Request-ID)"
    found = logged.get(request, [])
    if not found:
        return (f"request_id {request!r} is not in the prediction logs of {model}; check the id, or pass "
                "--logs where serving logged it")
    if len(found) > 1:
        return f"request_id {request!r} was logged {len(found)} times; label requests whose id is unique"
    inputs = found[0]
    if ROW not in record:
        if len(inputs) != 1:
            return (f"request {request} logged {len(inputs)} input rows; label each with request_id,row,label "
                    f"(row 0 to {len(inputs) - 1})")
        return (request, 0), inputs[0]
    text = record[ROW]
    if not isinstance(text, str) or not text.strip().isdigit() or int(text) >= len(inputs):
        return f"row {text!r} is not a row of request {request}; give a number from 0 to {len(inputs) - 1}"
    return (request, int(text)), inputs[int(text)]


def as_text(frame: pd.DataFrame, pointer: DataPointer) -> pd.DataFrame:
    """Logged JSON values as the text a CSV holds (a whole float in an int column without `.0`)."""
    out = frame.astype(object)
    for name in out.columns:
        kind = column.type if (column := pointer.column(str(name))) else None
        out[name] = [_text(v, kind) for v in out[name]]
    return out


def _text(value: Any, kind: str | None) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def checked_rows(frame: pd.DataFrame, pointer: DataPointer, *, target: str, features: list[str], source: str,
                 where_data: str) -> tuple[pd.DataFrame, list[Problem]]:
    """The labelled rows (text) with every declared column, in the pointer's order; problems:
    columns the model needs that are missing, undeclared columns, missing labels, and every
    contract violation of the rows (their count aside: a batch is smaller than a dataset)."""
    problems: list[Problem] = []
    if frame.empty:
        return frame, [Problem(source, "holds no labelled rows; add some")]
    missing = [c for c in [*features, target] if c not in frame.columns]
    if missing:
        problems.append(Problem(f"{source}: columns", f"the model needs {missing}; add them to every row"))
    extra = [str(c) for c in frame.columns if pointer.column(str(c)) is None]
    if extra:
        problems.append(Problem(f"{source}: columns", f"{extra} are not declared in {where_data}; remove them"))
    rows = frame.reindex(columns=pointer.names()).astype(object)
    rows = rows.where(rows.notna(), None)
    unlabelled = [line(i) for i in range(len(rows)) if _blank(rows[target].iloc[i])] if target in frame else []
    if unlabelled:
        problems.append(Problem(f"{source}: {target}", f"no label on lines {unlabelled[:10]}"
                                                      f"{' and more' if len(unlabelled) > 10 else ''}; "
                                                      "label them or drop those lines"))
    typed, found = coerce_frame(rows, pointer)
    labelled = typed[[not _blank(v) for v in rows[target]]] if target in frame else typed.iloc[:0]
    found += check_contract(labelled, pointer, target=target)
    found = [p for p in found if p.location not in ("row count", *missing)]  # said once, above
    problems += [Problem(f"{source}: {p.location}", p.message) for p in found]
    return rows, problems


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()
