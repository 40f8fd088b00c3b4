"""The labelled rows of `mlpin drift prepare-retrain`, read and checked: the file, its form
(see `pipelines.core.labelled`) and, for labels by request id, the logged inputs they join
to. Raises InvalidInput listing every problem; returns rows as text, ready to append."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.errors import InvalidInput, Problem
from pipelines.core.labelled import REQUEST_ID, as_text, checked_rows, is_request_form, joined_rows
from pipelines.core.workspace import pointer_path
from pipelines.stages.context import StageContext

SHOWN = 50


@dataclass(frozen=True)
class LabelledRows:
    """Checked rows (every declared column, as text), the form they came in and from where."""

    frame: Any  # pandas.DataFrame
    form: str  # rows | requests
    source: str
    logs: str | None


def labelled_rows(ctx: StageContext, path: Path, *, model: str, dataset: str, target: str, features: list[str],
                  logs: str | None) -> LabelledRows:
    """The labelled file's rows, joined to the logs when it labels requests, and checked
    against the contract of `dataset` (the model's training data)."""
    pointer = ctx.workspace.pointers[dataset]
    raw = _read(path)
    source = path.name
    uri = None
    problems: list[Problem] = []
    frame = raw
    if is_request_form(list(raw.columns)):
        from pipelines.adapters.loggedinputs import logged_inputs
        from pipelines.stages.driftcheck import default_logs

        uri = logs or default_logs(ctx)
        wanted = {str(r) for r in raw[REQUEST_ID].dropna()}
        with ctx.progress.step(f"reading the logged inputs of {len(wanted)} requests under {uri}"):
            logged = logged_inputs(uri, model, wanted)
        joined, problems = joined_rows(raw, logged, target=target, source=source, model=model)
        frame = as_text(joined, pointer)
    rows = frame
    if not (frame.empty and problems):  # when no line joined, the lines' own problems say it all
        rows, found = checked_rows(frame, pointer, target=target, features=features, source=source,
                                   where_data=pointer_path(dataset))
        problems += found
    if problems:
        count = len(problems)
        shown = problems[:SHOWN] + ([Problem("…", f"and {count - SHOWN} more")] if count > SHOWN else [])
        raise InvalidInput(f"{path}: {count} problem{'s' if count != 1 else ''} in the labelled rows; nothing "
                           "written. Fix them and rerun", problems=shown, ids={"model": model, "file": str(path)})
    return LabelledRows(rows, "requests" if uri else "rows", source, uri)


def _read(path: Path) -> Any:
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    except FileNotFoundError:
        raise InvalidInput(f"--labeled {path}: no such file; pass the CSV of labelled production rows") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:  # pandas raises several types for bad files
        raise InvalidInput(f"--labeled {path}: cannot be read as CSV ({exc}); save it as comma-separated text "
                           "with a header line") from None

