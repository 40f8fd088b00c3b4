"""Data pointers: digest checked before parsing, contract before training, any source."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters.datastore import load_dataset
from pipelines.core.errors import DataError
from pipelines.core.outcome import Kind
from pipelines.core.schemas import DataPointer

COLUMNS = [{"name": "x", "type": "float"}, {"name": "y", "type": "category", "role": "target"}]


def make(root: Path, content: bytes, *, uri: str = "data/t.csv", fmt: str = "csv", **contract) -> DataPointer:
    path = root / uri
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return DataPointer(
        uri=uri, format=fmt, sha256=hashlib.sha256(content).hexdigest(), columns=COLUMNS, contract=contract
    )


def test_loads_and_types_a_csv(tmp_path: Path) -> None:
    pointer = make(tmp_path, b"x,y\n1.5,a\n2,b\n")
    frame = load_dataset(tmp_path, "t", pointer=pointer, target="y")
    assert frame.to_dict("list") == {"x": [1.5, 2.0], "y": ["a", "b"]}


def test_digest_mismatch_is_refused_with_the_new_digest(tmp_path: Path) -> None:
    pointer = make(tmp_path, b"x,y\n1,a\n")
    (tmp_path / "data/t.csv").write_bytes(b"x,y\n1,a\n2,b\n")
    actual = hashlib.sha256(b"x,y\n1,a\n2,b\n").hexdigest()
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path, "t", pointer=pointer, target="y")
    assert err.value.message.startswith("data/t.yaml: sha256 of data/t.csv does not match the pointer")
    assert err.value.message.endswith(f"set sha256: {actual}")
    assert err.value.kind == Kind.INVALID_INPUT


def test_contract_violations_are_all_reported(tmp_path: Path) -> None:
    pointer = make(tmp_path, b"x,y\n1,a\n,b\nnope,c\n", min_rows=5, labels=["a", "b"])
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path, "t", pointer=pointer, target="y")
    text = [str(p) for p in err.value.problems]
    assert text == [
        "x: expected numbers; 1 values are not, e.g. 'nope'",
        "row count: expected at least 5 rows; found 3",
        "x: expected at most 0.0% missing values; found 66.7% (2 rows)",
        "y: expected labels in ['a', 'b']; 1 rows have others: ['c']",
    ]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("data/missing.csv", "uri 'data/missing.csv' does not exist"),
        ("../outside.csv", "points outside the repository"),
    ],
    ids=["missing-file", "escapes-repo"],
)
def test_bad_local_uri(tmp_path: Path, uri: str, expected: str) -> None:
    pointer = DataPointer(uri=uri, format="csv", sha256="0" * 64, columns=COLUMNS)
    (tmp_path.parent / "outside.csv").write_text("x,y\n")
    with pytest.raises(DataError, match=expected):
        load_dataset(tmp_path, "t", pointer=pointer, target="y")


def test_parquet_and_fsspec_uri(tmp_path: Path) -> None:
    store = tmp_path / "bucket"
    store.mkdir()
    pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}).to_parquet(store / "t.parquet")
    content = (store / "t.parquet").read_bytes()
    pointer = DataPointer(
        uri=(store / "t.parquet").as_uri(),
        format="parquet",
        sha256=hashlib.sha256(content).hexdigest(),
        columns=COLUMNS,
    )
    frame = load_dataset(tmp_path / "repo", "t", pointer=pointer, target="y")
    assert frame["y"].tolist() == ["a", "b"]


def test_unparseable_file(tmp_path: Path) -> None:
    pointer = make(tmp_path, b"not parquet at all", uri="data/t.parquet", fmt="parquet")
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path, "t", pointer=pointer, target="y")
    assert "cannot parse as parquet" in str(err.value.problems[0])
