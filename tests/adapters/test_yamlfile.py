"""Loading committed YAML: every problem of a file, each naming field, expectation and finding."""

from __future__ import annotations

import pytest

from pipelines.adapters.yamlfile import load_document, parse_yaml, validate
from pipelines.core.errors import ConfigError
from pipelines.core.outcome import Kind
from pipelines.core.schemas import DataPointer, ModelSpec, ProductionPins, PromotionPolicy

SPEC = {"name": "m", "task": "classification", "data": "d", "estimator": {"kind": "random_forest"}}


def problems(exc: ConfigError) -> list[str]:
    return [str(p) for ps in exc.problems_by_path.values() for p in ps]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({**SPEC, "estimtor": {}}, "estimtor: unknown field; expected one of: schema_version, name, task"),
        (
            {**SPEC, "split": {"seed": 1, "shuffle": True}},
            "split.shuffle: unknown field; expected one of: test_fraction, seed, stratify",
        ),
        ({**SPEC, "task": "clustering"},
         "task: expected 'classification', 'regression' or 'image_classification'; found 'clustering'"),
        (
            {**SPEC, "split": {"test_fraction": "a fifth"}},
            "split.test_fraction: expected a valid number, unable to parse string as a number; found 'a fifth'",
        ),
        ({**SPEC, "split": {"test_fraction": 1.5}}, "split.test_fraction: expected less than 1; found 1.5"),
        ({**SPEC, "name": "Has Spaces"}, "name: String should match pattern"),
        ({k: v for k, v in SPEC.items() if k != "estimator"}, "estimator: required field is missing"),
        ({**SPEC, "schema_version": 2}, "schema_version: expected 1; found 2"),
    ],
    ids=[
        "unknown-top-field",
        "unknown-nested-field",
        "bad-literal",
        "wrong-type",
        "out-of-range",
        "bad-name",
        "missing",
        "future-schema",
    ],
)
def test_spec_errors_name_field_expectation_and_finding(doc: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate(doc, "models/m.yaml", schema=ModelSpec)
    assert any(expected in line for line in problems(err.value)), problems(err.value)
    assert err.value.kind == Kind.INVALID_INPUT


def test_all_problems_of_a_file_are_listed_at_once() -> None:
    doc = {**SPEC, "task": "clustering", "colour": "red", "split": {"test_fraction": 2}}
    with pytest.raises(ConfigError) as err:
        validate(doc, "models/m.yaml", schema=ModelSpec)
    found = problems(err.value)
    assert len(found) == 3
    assert err.value.message == "models/m.yaml: 3 problems"


def test_nested_list_locations_are_indexed() -> None:
    doc = {
        "uri": "x.csv",
        "format": "csv",
        "sha256": "0" * 64,
        "columns": [{"name": "a", "type": "float"}, {"name": "b", "type": "text"}],
    }
    with pytest.raises(ConfigError) as err:
        validate(doc, "data/d.yaml", schema=DataPointer)
    assert problems(err.value) == ["columns[1].type: expected 'float', 'int' or 'category'; found 'text'"]


def test_unknown_field_inside_dict_of_models_lists_allowed_fields() -> None:
    doc = {"models": {"m": {"version": 1, "run_id": "r", "artifact_sha256": "a" * 64, "spec_hash": "b" * 64,
                            "data_sha256": "c" * 64, "aproved_by": "x"}}}
    with pytest.raises(ConfigError) as err:
        validate(doc, "models/production.yaml", schema=ProductionPins)
    assert "models.m.aproved_by: unknown field; expected one of: version, run_id" in problems(err.value)[0]


def test_model_level_rule_is_reported_without_dumping_the_input() -> None:
    with pytest.raises(ConfigError) as err:
        validate({"metrics": [{"metric": "accuracy"}]}, "policies/p.yaml", schema=PromotionPolicy)
    assert problems(err.value) == ["metrics[0]: a metric gate needs `min`, `max` or both"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "invalid YAML"),
        ("name: a\nname: b\n", "key 'name' appears twice"),
        ("- a\n- b\n", "expected a mapping of fields at the top level; found a list"),
    ],
    ids=["syntax", "duplicate-key", "not-a-mapping"],
)
def test_unparseable_yaml(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate(parse_yaml(text, "models/m.yaml"), "models/m.yaml", schema=ModelSpec)
    assert expected in "\n".join(err.value.lines())
    assert "models/m.yaml" in err.value.message


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(ConfigError) as err:
        parse_yaml("a: 1\nb: [x\n", "f.yaml")
    assert str(err.value.problems_by_path["f.yaml"][0]).startswith("line 3, column 1")


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ConfigError) as err:
        load_document(tmp_path, "models/nope.yaml", schema=ModelSpec)
    assert err.value.lines() == ["models/nope.yaml: 1 problem", "  - file does not exist"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[yes, no]", "True is read as a bool; quote it ('True')"), ("['1', 1.0]", "1.0 is read as a float")],
    ids=["yaml-boolean", "float"],
)
def test_category_values_that_yaml_reads_as_booleans_or_floats_must_be_quoted(text: str, expected: str) -> None:
    doc = parse_yaml(
        "uri: d.csv\nformat: csv\nsha256: " + "0" * 64 + "\ncolumns:\n- {name: c, type: category}\n"
        f"contract:\n  values:\n    c: {text}\n", "data/d.yaml",
    )
    with pytest.raises(ConfigError) as err:
        validate(doc, "data/d.yaml", schema=DataPointer)
    assert expected in "\n".join(err.value.lines())
