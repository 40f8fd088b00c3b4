"""Typing raw tables by their schema and checking the data contract: every violation reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.core.contract import check_contract, coerce_frame
from pipelines.core.schemas import DataPointer


def pointer(**contract) -> DataPointer:
    return DataPointer(
        uri="d.csv",
        format="csv",
        sha256="0" * 64,
        columns=[
            {"name": "age", "type": "int"},
            {"name": "city", "type": "category"},
            {"name": "label", "type": "category", "role": "target"},
        ],
        contract=contract,
    )


RAW = pd.DataFrame(
    {"age": ["30", "41", None, "29"], "city": ["Oslo", None, "Rome", "1"], "label": ["yes", "no", "yes", "no"]}
)


def test_coerce_types_numbers_as_float_and_categories_as_text() -> None:
    frame, problems = coerce_frame(RAW, pointer())
    assert problems == []
    assert frame["age"].dtype == np.float64
    assert frame["city"].tolist()[0] == "Oslo" and pd.isna(frame["city"].iloc[1])
    assert frame["city"].iloc[3] == "1"


def test_coerce_reports_unparseable_non_integral_missing_and_extra_columns() -> None:
    raw = pd.DataFrame({"age": ["30", "forty", "2.5"], "label": ["a", "b", "c"], "extra": [1, 2, 3]})
    _, problems = coerce_frame(raw, pointer())
    text = [str(p) for p in problems]
    assert "columns: declared but missing from the data: ['city']" in text
    assert "columns: in the data but not declared: ['extra']; declare them (role: ignore to skip)" in text
    assert "age: expected numbers; 1 values are not, e.g. 'forty'" in text
    assert "age: expected whole numbers (type: int); 1 values are not, e.g. 2.5" in text


def test_contract_lists_every_violation() -> None:
    frame, _ = coerce_frame(RAW, pointer())
    found = check_contract(
        frame,
        pointer(
            min_rows=10,
            max_null_fraction=0.0,
            null_fraction={"city": 0.5},
            labels=["yes"],
            ranges={"age": {"min": 30, "max": 40}},
        ),
        target="label",
    )
    text = [str(p) for p in found]
    assert text == [
        "row count: expected at least 10 rows; found 4",
        "age: expected at most 0.0% missing values; found 25.0% (1 rows)",
        "age: expected values >= 30.0; 1 below, smallest 29.0",
        "age: expected values <= 40.0; 1 above, largest 41.0",
        "label: expected labels in ['yes']; 2 rows have others: ['no']",
    ]


def test_labels_compare_as_text_so_numeric_codes_match() -> None:
    frame = pd.DataFrame({"age": [1.0], "city": ["a"], "label": ["0"]})
    assert check_contract(frame, pointer(labels=[0, 1]), target="label") == []


def test_category_values_outside_the_declared_set_are_violations_listed_with_the_others() -> None:
    frame, _ = coerce_frame(RAW, pointer())
    found = check_contract(frame, pointer(min_rows=10, values={"city": ["Oslo", "Rome", 1]}, max_null_fraction=0.5),
                           target="label")
    assert [str(p) for p in found] == ["row count: expected at least 10 rows; found 4"]
    found = check_contract(frame, pointer(values={"city": ["Oslo"]}, max_null_fraction=0.5), target="label")
    assert [str(p) for p in found] == [
        "city: expected values in ['Oslo'] (contract.values); 2 rows have others: ['1', 'Rome']"
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_a_csv_read_with_the_wrong_delimiter_says_so(delimiter: str) -> None:
    raw = pd.DataFrame({delimiter.join(["age", "city", "label"]): ["30;Oslo;yes"]})
    _, problems = coerce_frame(raw, pointer())
    assert [str(p) for p in problems] == [
        f"columns: one column named {delimiter.join(['age', 'city', 'label'])!r}: is the delimiter {delimiter!r}? "
        "mlpin reads CSV separated by commas; save the file with ',' between values"
    ]
