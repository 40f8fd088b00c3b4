"""Export the sample datasets shipped inside scikit-learn to data/, with their pointers.

Deterministic: the same scikit-learn and pandas give byte-identical CSVs and pointers.
No downloads; these three datasets are bundled with scikit-learn itself.

    python scripts/export_datasets.py [--root .]
"""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

import pandas as pd
import yaml


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def breast_cancer() -> tuple[pd.DataFrame, dict]:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.rename(columns=_snake)
    frame["diagnosis"] = [str(bunch.target_names[t]) for t in bunch.target]
    contract = {
        "min_rows": 500,
        "max_null_fraction": 0.0,
        "labels": [str(n) for n in bunch.target_names],
        "ranges": {c: {"min": 0.0} for c in frame.columns if c != "diagnosis"},
    }
    return frame, {"target": "diagnosis", "categorical": [], "contract": contract,
                   "description": "Wisconsin diagnostic breast cancer (scikit-learn bundled copy)"}


def wine() -> tuple[pd.DataFrame, dict]:
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    frame = bunch.data.rename(columns=_snake)
    frame["cultivar"] = [str(bunch.target_names[t]) for t in bunch.target]
    contract = {
        "min_rows": 150,
        "max_null_fraction": 0.0,
        "labels": [str(n) for n in bunch.target_names],
        "ranges": {"alcohol": {"min": 8.0, "max": 16.0}, "ash": {"min": 0.0}},
    }
    return frame, {"target": "cultivar", "categorical": [], "contract": contract,
                   "description": "UCI wine recognition, three cultivars (scikit-learn bundled copy)"}


def diabetes() -> tuple[pd.DataFrame, dict]:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True, scaled=False)
    frame = bunch.data.rename(columns=_snake)
    frame["sex"] = frame["sex"].astype(int).astype(str)  # coded 1/2: a category, not a quantity
    frame["age"] = frame["age"].astype(int)
    frame["progression"] = bunch.target
    contract = {
        "min_rows": 400,
        "max_null_fraction": 0.0,
        "ranges": {"age": {"min": 0.0, "max": 120.0}, "bmi": {"min": 10.0, "max": 60.0},
                   "progression": {"min": 0.0, "max": 400.0}},
        "values": {"sex": ["1", "2"]},
    }
    return frame, {"target": "progression", "categorical": ["sex"], "contract": contract,
                   "description": "Diabetes progression one year after baseline (scikit-learn bundled copy, unscaled)"}


def _column_type(frame: pd.DataFrame, name: str, meta: dict) -> str:
    if name in meta["categorical"] or (name == meta["target"] and frame[name].dtype == object):
        return "category"
    return "int" if pd.api.types.is_integer_dtype(frame[name]) else "float"


def pointer(frame: pd.DataFrame, meta: dict, rel_csv: str, digest: str) -> dict:
    """The data pointer document for an exported CSV."""
    columns = [
        {
            "name": name,
            "type": _column_type(frame, name, meta),
            "role": "target" if name == meta["target"] else "feature",
        }
        for name in frame.columns
    ]
    return {"schema_version": 1, "description": meta["description"], "uri": rel_csv, "format": "csv",
            "sha256": digest, "columns": columns, "contract": meta["contract"]}


def export(root: Path) -> list[Path]:
    """Write every dataset and its pointer under root/data; returns the pointer paths."""
    written = []
    for name, build in (("breast_cancer", breast_cancer), ("wine", wine), ("diabetes", diabetes)):
        frame, meta = build()
        csv = frame.to_csv(index=False, lineterminator="\n").encode()
        (root / "data" / f"{name}.csv").write_bytes(csv)
        doc = pointer(frame, meta, f"data/{name}.csv", hashlib.sha256(csv).hexdigest())
        header = f"# Data pointer for data/{name}.csv, written by scripts/export_datasets.py.\n"
        path = root / "data" / f"{name}.yaml"
        path.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=100))
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    for path in export(parser.parse_args().root):
        print(path)


if __name__ == "__main__":
    main()
