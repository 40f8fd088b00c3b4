"""The OpenAPI contract on a real uvicorn: the prediction routes' request bodies (per live
model from its signature) and error answers are documented, and schemathesis, fuzzing
every operation from that document, finds no 5xx and no answer the document does not allow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import pin, wait_until
from tests.serving.helpers import MODEL, Running, Trained, isolated, serving, settings_for

EXAMPLES = 30  # per operation: bounded, and the same cases every run (derandomized)


@pytest.fixture(scope="module")
def two_models(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """wine_logreg v1 (numbers, one optional) and diabetes_hgb v1 (a category) live."""
    pin(trained.root, **{MODEL: trained.entries["v1"], "diabetes_hgb": trained.entries["diabetes"]})
    settings_ = settings_for(trained, tmp_path_factory.mktemp("openapi"), body_limit_bytes=65536, max_rows=50)
    with isolated(tmp_path_factory), serving(settings_) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        yield running


@pytest.fixture(scope="module")
def contract(two_models: Running):
    """The served /openapi.json, loaded by schemathesis."""
    return schemathesis.openapi.from_url(f"{two_models.url}/openapi.json")


def test_each_live_model_has_a_predict_operation_with_its_columns(two_models: Running) -> None:
    paths = two_models.client.get("/openapi.json").json()["paths"]
    body = paths[f"/predict/{MODEL}"]["post"]["requestBody"]["content"]["application/json"]
    record = body["schema"]["anyOf"][0]
    assert "hue" not in record["required"] and "proline" in record["required"]  # the contract allows hue gaps
    assert record["properties"]["hue"] == {"type": ["number", "null"]} and record["additionalProperties"] is False
    assert two_models.client.post(f"/predict/{MODEL}", json=body["example"]).status_code == 200
    sex = paths["/predict/diabetes_hgb"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert sex["anyOf"][0]["properties"]["sex"] == {"type": "string", "enum": ["1", "2"]}
    (choice,) = [p for p in paths["/invocations"]["post"]["parameters"] if p["name"] == "model"]
    assert choice["schema"]["anyOf"][0] == {"enum": ["diabetes_hgb", MODEL]}


@pytest.mark.parametrize("path", ["/predict/{model}", "/invocations"])
def test_prediction_routes_document_their_bodies_and_errors(two_models: Running, path: str) -> None:
    operation = two_models.client.get("/openapi.json").json()["paths"][path]["post"]
    assert operation["requestBody"]["required"] is True
    assert operation["requestBody"]["content"]["application/json"]["schema"]["description"]
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for status in ("404", "413", "415", "422", "503"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == error, status


def test_an_unpinned_model_disappears_from_the_contract(two_models: Running, trained: Trained) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    try:
        two_models.reconcile()
        assert "/predict/diabetes_hgb" not in two_models.client.get("/openapi.json").json()["paths"]
    finally:
        pin(trained.root, **{MODEL: trained.entries["v1"], "diabetes_hgb": trained.entries["diabetes"]})
        two_models.reconcile()
    assert "/predict/diabetes_hgb" in two_models.client.get("/openapi.json").json()["paths"]


OPERATIONS = [
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/status"), ("GET", "/models"), ("GET", "/metrics"), ("GET", "/"),
    ("POST", "/predict/{model}"), ("POST", f"/predict/{MODEL}"), ("POST", "/predict/diabetes_hgb"),
    ("POST", "/invocations"), ("POST", "/webhook"), ("POST", "/reconcile"),
]
FUZZED = [(method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS] + [
    # invalid inputs too, where the contract constrains them (the rest take none, or any body)
    ("POST", path, GenerationMode.NEGATIVE) for path in ("/predict/{model}", f"/predict/{MODEL}",
                                                         "/predict/diabetes_hgb", "/invocations")
] + [("POST", "/reconcile", GenerationMode.NEGATIVE)]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_documented_operation_is_fuzzed(contract) -> None:
    documented = [(op.ok().method.upper(), op.ok().path) for op in contract.get_all_operations()]
    assert sorted(documented) == sorted(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "mode"), FUZZED, ids=[f"{m} {p} {g.value}" for m, p, g in FUZZED])
def test_fuzzing_finds_no_server_error_and_no_undocumented_answer(
    contract, method: str, path: str, mode: GenerationMode
) -> None:
    @given(case=contract[path][method].as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case) -> None:
        case.call_and_validate(checks=CHECKS)

    fuzz()


