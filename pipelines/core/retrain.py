"""What a retraining branch holds, decided without I/O: the new dataset's name, which
labelled rows are held out, the spec's new text and the pointers' documents.

The old data file is never rewritten: the new version is a new file (old rows plus the
labelled rows not held out), and the spec changes in `data:` and `drift_holdout:` only.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from pipelines.core.errors import InvalidInput
from pipelines.core.schemas import DataPointer

DATED = re.compile(r"-\d{8}(?:-\d+)?$")  # a name an earlier retraining gave: wine-20261130(-2)
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DATA_LINE = re.compile(r"^data:[ \t]*([^\s#]+)([^\n]*)$", re.MULTILINE)
HOLDOUT_LINE = re.compile(r"^drift_holdout:[^\n]*\n?", re.MULTILINE)
HOLDOUT = "-holdout"


def dataset_name(data: str, *, day: str, taken: set[str]) -> str:
    """`<data>-<day>` (an earlier date suffix replaced), with `-2`, `-3` ... if that or its
    holdout's name is taken; InvalidInput when the holdout's name would be too long."""
    base, number = DATED.sub("", data), 1
    name = f"{base}-{day}"
    while name in taken or name + HOLDOUT in taken:
        number += 1
        name = f"{base}-{day}-{number}"
    if not NAME.fullmatch(name + HOLDOUT):
        raise InvalidInput(f"dataset name {name + HOLDOUT!r} is longer than 64 characters; shorten the data "
                           f"pointer's name ({data})")
    return name


def holdout_rows(count: int, *, share: float, seed: int) -> list[int]:
    """The 0-based rows held out (sorted): round(count * share) of them, at least one, picked by
    `seed` alone, so the same file and seed always hold out the same rows."""
    import numpy as np

    if not 0.0 < share < 1.0:
        raise InvalidInput(f"--holdout-share {share}: give a share between 0 and 1, e.g. 0.3")
    if count < 2:
        raise InvalidInput(f"{count} labelled row(s): at least 2 are needed, one to train on and one to hold out")
    size = min(max(1, round(count * share)), count - 1)
    return sorted(int(i) for i in np.random.default_rng(seed).permutation(count)[:size])


def retrained_spec(text: str, *, old: str, data: str, holdout: str) -> str:
    """The spec's text with `data: <data>` and `drift_holdout: <holdout>` (right below it);
    every other line, comments included, as it was. A comment naming the old dataset follows."""
    text = HOLDOUT_LINE.sub("", text)
    found = DATA_LINE.search(text)
    if found is None or found.group(1).strip("'\"") != old:
        raise InvalidInput(f"the spec's `data: {old}` is not on a line of its own; write it so and rerun")
    tail = found.group(2).replace(old, data)
    return text[:found.start()] + f"data: {data}{tail}\ndrift_holdout: {holdout}" + text[found.end():]


def pointer_document(old: DataPointer, *, uri: str, sha256: str, description: str,
                     min_rows: int | None = None) -> dict[str, Any]:
    """A CSV pointer with `old`'s columns and contract (min_rows replaced when given), validated."""
    doc = old.model_dump(mode="json", exclude_defaults=True)
    contract = dict(doc.get("contract", {}))
    if min_rows is not None:
        contract["min_rows"] = min_rows
    fields = {"schema_version": 1, "description": description, "uri": uri, "format": "csv", "sha256": sha256,
              "columns": doc["columns"], "contract": contract}
    DataPointer.model_validate(fields)
    return fields


def pointer_text(doc: dict[str, Any], *, header: str) -> str:
    """A pointer file: a comment saying who wrote it, then the document."""
    return f"# {header}\n" + yaml.safe_dump(doc, sort_keys=False, width=100)
