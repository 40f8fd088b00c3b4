"""`mlpin drift prepare-retrain --model M --labeled FILE`: a branch that retrains a model on
labelled production data, ready for `mlpin candidate`.

It checks every labelled row first (and lists every problem; nothing is written then), then
builds one commit with git plumbing (a private index, `commit-tree`, a new ref), so the
user's checkout, index and files are never touched and an existing branch is never moved:
- `data/<d2>.csv`: the old data file's bytes, then the labelled rows not held out (a new
  dataset version; the old file stays as it is), with its pointer `data/<d2>.yaml`;
- `data/<d2>-holdout.csv` + pointer: the held-out labelled rows (the drift holdout);
- `models/<m>.yaml`: `data: <d2>` and `drift_holdout: <d2>-holdout`, nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipelines.adapters import git, gitwrite
from pipelines.core.consistency import resolve_features, resolve_target
from pipelines.core.errors import DataError, InvalidInput, Problem
from pipelines.core.retrain import HOLDOUT, dataset_name, holdout_rows, pointer_document, pointer_text, retrained_spec
from pipelines.core.workspace import pointer_path, spec_path
from pipelines.stages.context import StageContext
from pipelines.stages.retrainrows import LabelledRows, labelled_rows


class RetrainBranch(BaseModel):
    """The branch prepare-retrain made and what it holds."""

    model: str
    branch: str
    commit: str
    base: str
    form: str  # rows | requests
    dataset: str
    data_path: str
    holdout: str
    holdout_path: str
    old_rows: int
    train_rows: int  # labelled rows added to the new dataset
    holdout_rows: int
    seed: int
    next_steps: list[str]


def prepare_retrain(ctx: StageContext, *, model: str, labeled: Path, logs: str | None = None,
                    branch: str | None = None, holdout_share: float = 0.3, seed: int | None = None) -> RetrainBranch:
    """Check the labelled rows, then commit the new dataset version, holdout and spec on a new branch."""
    root, ws = ctx.root, ctx.workspace
    spec = ws.spec(model)
    if spec.data in ws.images:
        raise InvalidInput(f"{model} trains on an image folder; prepare-retrain writes table rows: add the labelled "
                           f"images to a new folder, point a new data pointer at it and open a PR")
    pointer = ws.pointer_for(spec)
    target, features = resolve_target(spec, pointer), resolve_features(spec, pointer)
    assert target is not None  # the workspace loaded, so consistency found the target
    day = ctx.clock().strftime("%Y%m%d")
    branch = branch or f"retrain/{model}-{day}"
    head = _ready(ctx, branch, paths=[spec_path(model), pointer_path(spec.data), pointer.uri])
    rows = labelled_rows(ctx, labeled, model=model, dataset=spec.data, target=target, features=features, logs=logs)
    seed = spec.split.seed if seed is None else seed
    held = set(holdout_rows(len(rows.frame), share=holdout_share, seed=seed))
    name = dataset_name(spec.data, day=day, taken=set(ws.pointers))
    holdout = name + HOLDOUT
    old_rows = len(ctx.table(spec.data, target=target))
    train = rows.frame.iloc[[i for i in range(len(rows.frame)) if i not in held]]
    test = rows.frame.iloc[sorted(held)]
    files = _files(ctx, model, train=train, test=test, name=name, source=labeled.name, day=day, seed=seed,
                   old_rows=old_rows, target=target)
    files[spec_path(model)] = retrained_spec(git.file_at(root, head, spec_path(model)).decode(), old=spec.data,
                                             data=name, holdout=holdout).encode()
    message = _message(model, rows=rows, old=pointer.uri, name=name, holdout=holdout, old_rows=old_rows,
                       train=len(train), test=len(test), share=holdout_share, seed=seed, data=spec.data)
    commit = gitwrite.commit_files(root, parent=head, files=files, message=message)
    gitwrite.create_branch(root, branch, commit)
    return RetrainBranch(
        model=model, branch=branch, commit=commit, base=head, form=rows.form, dataset=name,
        data_path=f"data/{name}.csv", holdout=holdout, holdout_path=f"data/{holdout}.csv", old_rows=old_rows,
        train_rows=len(train), holdout_rows=len(test), seed=seed, next_steps=_next(root, branch),
    )


def _files(ctx: StageContext, model: str, *, train: Any, test: Any, name: str, source: str, day: str, seed: int,
           old_rows: int, target: str) -> dict[str, bytes]:
    """The new dataset version and the holdout, each with its pointer, checked by that pointer."""
    dataset = ctx.workspace.specs[model].data
    pointer, holdout, columns = ctx.workspace.pointers[dataset], name + HOLDOUT, _order(ctx, dataset)
    data_csv = _appended(ctx.content(dataset), train, fmt=pointer.format, columns=columns)
    holdout_csv = test.to_csv(index=False, columns=columns, lineterminator="\n").encode()
    what = f"{len(train)} labelled production rows ({source}) added by mlpin drift prepare-retrain on {day}"
    data_doc = pointer_document(pointer, uri=f"data/{name}.csv", sha256=_sha(data_csv),
                                description=f"{pointer.uri} ({old_rows} rows) plus {what}")
    hold_doc = pointer_document(pointer, uri=f"data/{holdout}.csv", sha256=_sha(holdout_csv), min_rows=1,
                                description=f"{len(test)} labelled production rows ({source}) held out of "
                                            f"training by mlpin drift prepare-retrain on {day} (seed {seed})")
    _verify({name: (data_csv, data_doc), holdout: (holdout_csv, hold_doc)}, target=target)
    return {
        f"data/{name}.csv": data_csv,
        pointer_path(name): pointer_text(data_doc, header=f"Data pointer for data/{name}.csv, written by mlpin "
                                                          "drift prepare-retrain.").encode(),
        f"data/{holdout}.csv": holdout_csv,
        pointer_path(holdout): pointer_text(hold_doc, header=f"Drift holdout of {model}, written by mlpin drift "
                                                             "prepare-retrain; never trained on.").encode(),
    }


def _ready(ctx: StageContext, branch: str, *, paths: list[str]) -> str:
    """HEAD, once the branch name is free and valid and the files the branch is built from are
    committed as they are in the work tree (the branch is built from HEAD, not the work tree)."""
    root = ctx.root
    head = git.head_commit(root)
    if head is None:
        raise InvalidInput("the repository has no commits; commit the model's spec and data first")
    if not gitwrite.is_branch_name(root, branch):
        raise InvalidInput(f"--branch {branch!r} is not a valid branch name; pass another")
    if gitwrite.branch_tip(root, branch) is not None:
        raise InvalidInput(f"branch {branch} already exists; pass --branch NAME, or delete it (git branch -D {branch})")
    local = [p for p in paths if "://" not in p]
    changed = gitwrite.uncommitted(root, local)
    if changed:
        raise InvalidInput(f"uncommitted changes to {', '.join(changed)}; the branch is built "
                           "from HEAD, so commit or discard them first")
    return head


def _order(ctx: StageContext, dataset: str) -> list[str]:
    """The old data file's own column order (a new file keeps it)."""
    from pipelines.adapters.datastore import parse_table

    pointer = ctx.workspace.pointers[dataset]
    return [str(c) for c in parse_table(ctx.content(dataset), dataset, pointer=pointer).columns]


def _appended(old: bytes, rows: Any, *, fmt: str, columns: list[str]) -> bytes:
    """A CSV file: the old CSV's bytes as they are, then `rows` (a parquet file's rows are written out first)."""
    import io

    import pandas as pd

    new = rows.to_csv(index=False, header=False, columns=columns, lineterminator="\n").encode()
    if fmt != "csv":
        head = pd.read_parquet(io.BytesIO(old)).to_csv(index=False, columns=columns, lineterminator="\n").encode()
        return head + new
    return old + (b"" if not old or old.endswith(b"\n") else b"\n") + new


def _verify(files: dict[str, tuple[bytes, dict]], *, target: str) -> None:
    """Each new file typed and contract-checked by its own pointer, before anything is written."""
    from pipelines.adapters.datastore import typed_table
    from pipelines.core.schemas import DataPointer

    problems: list[Problem] = []
    for name, (content, doc) in files.items():
        try:
            typed_table(content, name, pointer=DataPointer.model_validate(doc), target=target)
        except DataError as exc:
            problems += [Problem(f"data/{name}.csv: {p.location}", p.message) for p in exc.problems] or [
                Problem(f"data/{name}.csv", exc.message)]
    if problems:
        raise InvalidInput("the new data version would break the data contract; nothing written. Fix the "
                           "labelled rows, or the contract in the data pointer", problems=problems)


def _sha(content: bytes) -> str:
    from pipelines.adapters.digest import sha256_bytes

    return sha256_bytes(content)


def _message(model: str, *, rows: LabelledRows, old: str, name: str, holdout: str, old_rows: int, train: int,
             test: int, share: float, seed: int, data: str) -> str:
    source = (f"labels by request id joined to the inputs logged under {rows.logs}" if rows.form == "requests"
              else "full rows")
    return "\n".join([
        f"Retrain {model} on {train + test} labelled production rows",
        "",
        f"mlpin drift prepare-retrain read {rows.source} ({source}).",
        f"- data/{name}.csv: the {old_rows} rows of {old} followed by {train} labelled rows (a new dataset version;",
        f"  {old} is unchanged), pointer {pointer_path(name)}",
        f"- data/{holdout}.csv: {test} labelled rows held out of training (share {share}, seed {seed}),",
        f"  pointer {pointer_path(holdout)}",
        f"- {spec_path(model)}: data {data} -> {name}; drift_holdout: {holdout}",
    ])


def _next(root: Path, branch: str) -> list[str]:
    base = git.current_branch(root) or "main"
    return [
        f"mlpin forge open {branch} --base {base}   (the local forge)",
        f"or: git push origin {branch}, and open a pull request into {base}",
        f"its check, mlpin candidate --base {base}, shows production vs the candidate on the drift holdout",
    ]
