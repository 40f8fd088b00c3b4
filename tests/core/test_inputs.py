"""Request bodies checked against a signature, and MLflow payloads turned into records."""

from __future__ import annotations

import pytest

from pipelines.core.inputs import (
    MAX_PROBLEMS,
    METADATA_KEY,
    InputColumn,
    check_batch,
    check_records,
    contract_metadata,
    input_columns,
    overflow_problems,
    records_from_mlflow,
    unseen_values,
    with_contract,
)
from pipelines.core.schemas import DataPointer

# size: a number the contract allows no gaps in; colour: a category with allowed values and gaps allowed
COLUMNS = [
    InputColumn(name="size", type="double"),
    InputColumn(name="colour", type="string", required=False, values=["red", "blue", "green"]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"size": 1.5, "colour": "red"}, []),
        ({"size": 2, "colour": None}, []),
        ([{"size": 1.0, "colour": "red"}, {"size": 2.0, "colour": "blue"}], []),
        ({"size": None, "colour": "red"}, [(("body", "size"), "value_required")]),
        ({"size": 1.0}, []),
        ({"size": 1.0, "colour": "purple"}, [(("body", "colour"), "enum")]),
        ([{"size": 1.0, "colour": "red"}, {"size": 1.0, "colour": "Red"}], [(("body", 1, "colour"), "enum")]),
        ({"colour": "red"}, [(("body", "size"), "missing")]),
        ({"size": 1.0, "colour": "red", "weight": 3}, [(("body", "weight"), "extra_forbidden")]),
        ({"size": "big", "colour": 3}, [(("body", "size"), "double_type"), (("body", "colour"), "string_type")]),
        ({"size": True, "colour": "red"}, [(("body", "size"), "double_type")]),
        (
            [{"size": 1.0, "colour": "red"}, {"colour": 1, "x": 0}],
            [
                (("body", 1, "size"), "missing"),
                (("body", 1, "x"), "extra_forbidden"),
                (("body", 1, "colour"), "string_type"),
            ],
        ),
        ([], [(("body",), "type_error")]),
        ("size=1", [(("body",), "type_error")]),
        ([{"size": 1.0, "colour": "red"}, 7], [(("body", 1), "type_error")]),
        (
            [{"size": True, "colour": "red"}, {"size": 1, "colour": False}],
            [(("body", 0, "size"), "double_type"), (("body", 1, "colour"), "string_type")],
        ),
    ],
    ids=[
        "one-record",
        "int-for-double-and-null",
        "batch",
        "null-in-a-required-column",
        "optional-column-absent",
        "value-outside-the-allowed-set",
        "value-outside-the-allowed-set-in-a-batch",
        "missing",
        "unknown",
        "wrong-types",
        "bool-is-not-a-number",
        "every-problem-of-a-batch-row",
        "empty-list",
        "not-json-object",
        "row-not-an-object",
        "bools-in-a-batch",
    ],
)
def test_check_records(body, expected: list) -> None:
    _, problems = check_records(body, COLUMNS)
    assert [(tuple(p.loc), p.type) for p in problems] == expected


NUMBERS = [InputColumn(name=t, type=t) for t in ("double", "float", "long", "integer")]
FINE = {"double": 1.5, "float": 2.5, "long": 3, "integer": 4}


@pytest.mark.parametrize(
    ("column", "value"),
    [("double", float("inf")), ("double", float("-inf")), ("double", float("nan")), ("double", 10**400),
     ("double", -(10**309)), ("float", 1e39), ("float", 2**200), ("long", 2**63), ("long", -(2**63) - 1),
     ("integer", 2**31)],
    ids=["inf", "minus-inf", "nan", "401-digits", "int-past-float64", "past-float32", "int-past-float32",
         "past-int64", "below-int64", "past-int32"],
)
def test_a_number_its_column_type_cannot_hold_is_refused_naming_the_field(column: str, value) -> None:
    for body in ({**FINE, column: value}, [FINE, {**FINE, column: value}]):
        _, problems = check_records(body, NUMBERS)
        assert [(p.loc[-1], p.type) for p in problems] == [(column, "number_range")]


def test_a_huge_integer_is_named_by_its_size_not_its_digits() -> None:
    for column in ("double", "string"):  # past 4300 digits Python refuses to print it
        (problem,) = check_records({**FINE, "size": 10**5000}, [*NUMBERS, InputColumn(name="size", type=column)])[1]
        assert "an integer of about 5001 digits" in problem.msg


def test_an_overflow_in_the_model_names_the_huge_fields_or_else_the_body() -> None:
    huge = {**FINE, "double": 1.7976931348623157e308}
    assert [p.loc for p in overflow_problems([FINE, huge], NUMBERS)] == [["body", 1, "double"]]
    assert [p.loc for p in overflow_problems([huge], NUMBERS)] == [["body", "double"]]
    assert [p.loc for p in overflow_problems([FINE], NUMBERS)] == [["body"]]


def test_the_largest_numbers_each_type_holds_are_accepted() -> None:
    edge = {"double": 1.7976931348623157e308, "float": -3.4028234663852886e38, "long": 2**63 - 1,
            "integer": -(2**31)}
    assert check_records([edge, edge], NUMBERS)[1] == []


def test_a_refused_value_names_the_allowed_ones() -> None:
    _, problems = check_records({"size": 1.0, "colour": "purple"}, COLUMNS)
    assert [p.msg for p in problems] == ["expected one of 'red', 'blue', 'green'; found 'purple'"]


def test_unseen_values_are_accepted_and_reported_where_the_contract_allows_them() -> None:
    columns = [COLUMNS[0], COLUMNS[1].model_copy(update={"allow_unseen": True})]
    records = [{"size": 1.0, "colour": "purple"}, {"size": 1.0, "colour": "red"}, {"size": 2.0}]
    assert check_records(records, columns)[1] == []
    assert unseen_values(records, columns) == {"colour": ["purple"]}
    assert unseen_values(records, COLUMNS) == {}


def test_a_contract_becomes_the_columns_a_model_is_served_with() -> None:
    pointer = DataPointer.model_validate({
        "uri": "d.csv", "format": "csv", "sha256": "0" * 64,
        "columns": [{"name": "size", "type": "float"}, {"name": "colour", "type": "category"},
                    {"name": "island", "type": "category"}, {"name": "y", "type": "category", "role": "target"}],
        "contract": {"null_fraction": {"colour": 0.1}, "values": {"colour": ["red", "blue", "green"], "island": [1, 2]},
                     "allow_unseen": ["island"]},
    })
    columns = input_columns(pointer, ["size", "colour", "island"])
    island = InputColumn(name="island", type="string", values=["1", "2"], allow_unseen=True)
    assert columns == [*COLUMNS, island]
    signature = [InputColumn(name=c.name, type=c.type, required=c.required) for c in columns]
    assert with_contract(signature, contract_metadata(columns)) == columns
    assert contract_metadata(signature) == {METADATA_KEY: {}}
    assert with_contract(signature, contract_metadata(signature)) == signature
    legacy = with_contract(signature, None)  # registered before mlpin recorded contracts: served as before
    assert [(c.required, c.accepts_null) for c in legacy] == [(True, True)] * 3
    assert check_records({"size": None, "colour": None, "island": None}, legacy)[1] == [], "nulls accepted"
    (missing,) = check_records({"size": 1.0, "colour": "red"}, legacy)[1]
    assert (missing.loc, missing.type) == (["body", "island"], "missing"), "every field must still be sent"


def test_problems_are_capped_for_huge_batches() -> None:
    _, problems = check_records([{}] * MAX_PROBLEMS, COLUMNS)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].type == "too_many_problems"


ROWS = [{"size": 1.0, "colour": "red"}, {"size": 2.0, "colour": "blue"}]


@pytest.mark.parametrize(
    ("payload", "records", "problem"),
    [
        ({"dataframe_split": {"columns": ["size", "colour"], "data": [[1.0, "red"], [2.0, "blue"]]}}, ROWS, None),
        ({"dataframe_records": ROWS}, ROWS, None),
        ({"inputs": ROWS}, ROWS, None),
        ({"inputs": {"size": [1.0, 2.0], "colour": ["red", "blue"]}}, ROWS, None),
        ({"dataframe_split": {"columns": ["size"], "data": [[1.0, "red"]]}}, None, "one value per column"),
        ({"inputs": {"size": [1.0, 2.0], "colour": ["red"]}}, None, "same number of values"),
        ({"instances": ROWS}, None, "exactly one of"),
        ({"inputs": ROWS, "dataframe_records": ROWS}, None, "exactly one of"),
        (ROWS, None, "exactly one of"),
        ({"dataframe_split": {"columns": [1, "colour"], "data": [[1.0, "red"]]}}, None, "column names"),
        ({"dataframe_split": {"columns": [["size"], "colour"], "data": [[1.0, "red"]]}}, None, "column names"),
        ({"dataframe_split": {"columns": ["size", "size"], "data": [[1.0, 2.0]]}}, None, "duplicate column size"),
    ],
    ids=["split", "records", "inputs-records", "inputs-columns", "split-ragged", "columns-ragged", "unknown-format",
         "two-formats", "bare-list", "split-number-column", "split-list-column", "split-duplicate-column"],
)
def test_records_from_mlflow(payload, records, problem) -> None:
    found, problems = records_from_mlflow(payload)
    assert found == records
    assert [p.msg for p in problems if problem in p.msg] == [p.msg for p in problems]
    assert bool(problems) == (problem is not None)


ALL_TYPES = [InputColumn(name=t, type=t) for t in ("double", "float", "long", "integer", "string", "boolean")] + [
    InputColumn(name="colour", type="string", required=False, values=["red", "blue"]),
    InputColumn(name="gap", type="double", required=False),
]
GOOD = {"double": 1.5, "float": 2, "long": -3, "integer": 4, "string": "s", "boolean": True, "colour": None,
        "gap": None}


@pytest.mark.parametrize(
    "change",
    [{}, {"double": float("nan")}, {"double": float("inf")}, {"double": 10**400}, {"double": 10**300},
     {"float": 1e39}, {"long": 2**63}, {"integer": -(2**31) - 1}, {"integer": 1.0}, {"boolean": 1},
     {"string": None}, {"colour": "green"}, {"gap": "x"}, {"extra": 1}, {"double": True}],
    ids=["clean", "nan", "infinity", "past-float64", "huge-but-finite", "past-float32", "past-int64", "past-int32",
         "float-for-integer", "int-for-boolean", "null-where-required", "outside-the-values", "text-for-a-number",
         "unknown-field", "bool-for-a-number"],
)
def test_a_batch_is_checked_exactly_as_its_records_one_by_one(change: dict) -> None:
    # Clean batches are checked column by column; the answer must be the record-by-record one.
    odd = {**GOOD, **change}
    alone = [p.msg for p in check_records(odd, ALL_TYPES)[1]]
    batch = [p for p in check_records([GOOD] * 100 + [odd] + [GOOD], ALL_TYPES)[1]]
    assert [p.msg for p in batch] == alone
    assert all(p.loc[1] == 100 for p in batch)


def test_a_batch_missing_a_field_in_one_record_is_checked_record_by_record() -> None:
    without = {k: v for k, v in GOOD.items() if k != "gap"}  # optional: absent is fine
    assert check_records([GOOD, without] * 50, ALL_TYPES)[1] == []
    without_long = {k: v for k, v in GOOD.items() if k != "long"}
    assert [(p.loc, p.type) for p in check_records([GOOD, without_long], ALL_TYPES)[1]] == [
        (["body", 1, "long"], "missing")]


def test_a_clean_batch_hands_over_its_values_per_column_and_a_batch_with_problems_does_not() -> None:
    # the model's frame is built from these: they must be the records' values, in the columns' order
    batch = [GOOD, {**GOOD, "double": 2.5, "colour": "red"}]
    records, problems, values = check_batch(batch, ALL_TYPES)
    assert records is batch and problems == []
    assert values == [[r[c.name] for r in batch] for c in ALL_TYPES]
    assert check_batch([GOOD, {**GOOD, "long": 1.5}], ALL_TYPES)[2] is None
    assert check_batch(GOOD, ALL_TYPES) == ([GOOD], [], None)  # one record: checked field by field
