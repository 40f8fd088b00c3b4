"""The HTTP API on a real uvicorn: validation (422), body limits (413), unknown models
(404), MLflow's scoring payloads, the prediction log, and who may trigger a pass."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.adapters.logsink import read_records
from pipelines.core.signing import sign
from tests.helpers import pin, wait_until
from tests.serving.helpers import MODEL, ROW, SECRET, Running, Trained, isolated, serving, settings_for

LIMIT = 8192
MAX_ROWS = 3


@pytest.fixture(scope="module")
def api(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One server on v1 for the tests that change nothing but the prediction log."""
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    settings = settings_for(trained, tmp_path_factory.mktemp("api"), body_limit_bytes=LIMIT, max_rows=MAX_ROWS)
    with isolated(tmp_path_factory), serving(settings) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        yield running


def test_one_record_or_a_batch_is_answered_with_version_and_request_id(api: Running) -> None:
    one = api.client.post(f"/predict/{MODEL}", json=ROW, headers={"x-request-id": "req-1"})
    batch = api.client.post(f"/predict/{MODEL}", json=[ROW, {**ROW, "proline": 900.0}]).json()
    assert one.json() == {
        "model": MODEL,
        "version": 1,
        "request_id": "req-1",
        "predictions": [one.json()["predictions"][0]],
    }
    assert one.headers["x-request-id"] == "req-1"
    assert len(batch["predictions"]) == 2 and batch["request_id"] != "req-1"


def test_every_record_is_in_the_prediction_log_when_answered(api: Running) -> None:
    answer = api.client.post(f"/predict/{MODEL}", json=[ROW, ROW], headers={"x-request-id": "logged-1"}).json()
    (logged,) = [r for r in read_records(api.service.settings.log_dir) if r["request_id"] == "logged-1"]
    assert (logged["model"], logged["version"], logged["outputs"]) == (MODEL, 1, answer["predictions"])
    assert logged["inputs"] == [ROW, ROW] and logged["timestamp"]


def test_422_lists_every_missing_unknown_and_wrongly_typed_field(api: Running) -> None:
    record = {k: v for k, v in ROW.items() if k != "alcohol"} | {"colour": "red", "proline": "lots", "ash": None}
    response = api.client.post(f"/predict/{MODEL}", json=[ROW, record])
    assert response.status_code == 422
    assert sorted((tuple(p["loc"]), p["type"]) for p in response.json()["detail"]) == [
        (("body", 1, "alcohol"), "missing"),
        (("body", 1, "ash"), "value_required"),
        (("body", 1, "colour"), "extra_forbidden"),
        (("body", 1, "proline"), "double_type"),
    ]


def test_a_column_the_contract_allows_gaps_in_is_optional(api: Running) -> None:
    hue = next(c for c in api.client.get("/models").json()[0]["inputs"] if c["name"] == "hue")
    assert hue["required"] is False  # wine's contract allows 10% missing hue in the shared repository
    without = {k: v for k, v in ROW.items() if k != "hue"}
    response = api.client.post(f"/predict/{MODEL}", json=[{**ROW, "hue": None}, without])
    assert response.status_code == 200 and len(response.json()["predictions"]) == 2
    refused = api.client.post(f"/predict/{MODEL}", json={**ROW, "proline": None})
    assert refused.status_code == 422
    assert refused.json()["detail"] == [{
        "loc": ["body", "proline"], "type": "value_required",
        "msg": "a value is required: the data contract allows no missing values in this column",
    }]


def test_a_category_value_outside_the_contract_is_refused_unless_unseen_values_are_allowed(
    trained: Trained, tmp_path: Path
) -> None:
    pin(trained.root, diabetes_hgb=trained.entries["diabetes"])
    with serving(settings_for(trained, tmp_path)) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        record = {**running.client.get("/models").json()[0]["example"], "sex": "3"}
        refused = running.client.post("/predict/diabetes_hgb", json=record)
        assert refused.status_code == 422
        assert refused.json()["detail"] == [
            {"loc": ["body", "sex"], "type": "enum", "msg": "expected one of '1', '2'; found '3'"}
        ]
        pin(trained.root, diabetes_hgb=trained.entries["diabetes-unseen"])
        running.reconcile()
        accepted = running.client.post("/predict/diabetes_hgb", json=[record, {**record, "sex": "1"}])
        assert (accepted.status_code, accepted.json()["version"]) == (200, 2)
        metrics = running.client.get("/metrics").text
    assert 'mlpin_unseen_values_total{column="sex",model="diabetes_hgb",version="2"} 1.0' in metrics


def test_unseen_values_are_logged_as_a_bounded_event_without_the_values(caplog) -> None:
    import logging

    from serving.routes import predict

    class Counted:
        def unseen_values(self, live, unseen) -> None:
            pass

    live = type("Live", (), {"name": "m", "version": 2})()
    service = type("Service", (), {"metrics": Counted()})()
    predict._unseen_logged.clear()
    secret = "x" * 100_000  # request data: must never reach the log, however long
    with caplog.at_level(logging.WARNING, logger="mlpin.serving"):
        for rid in ("r1", "r2", "r3"):
            predict._note_unseen(service, live, {"sex": [secret]}, rid)
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "unseen_values"]
    assert record.fields == {"model": "m", "version": 2, "column": "sex", "count": 1, "request_id": "r1"}
    assert secret not in caplog.text  # and one line a minute, not one per request


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"{not json", "json_invalid"), (b"[]", "type_error"), (b'"a string"', "type_error"),
     (b'{"alcohol": NaN}', "json_invalid"), (b'{"alcohol": Infinity}', "json_invalid"), (b"[" * 5_000, "json_invalid")],
    ids=["bad-json", "empty-batch", "not-a-record", "nan", "infinity", "deeply-nested"],
)
def test_422_for_bodies_that_are_not_records(api: Running, content: bytes, expected: str) -> None:
    response = api.client.post(f"/predict/{MODEL}", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert [p["type"] for p in response.json()["detail"]] == [expected]


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "1" * 401],
    ids=["past-float64", "below-float64", "401-digit-integer"],
)
def test_numbers_the_model_cannot_take_get_422_naming_the_field_not_500(api: Running, number: str) -> None:
    body = json.dumps(ROW).replace('"proline": 1000.0', f'"proline": {number}').encode()
    response = api.client.post(f"/predict/{MODEL}", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert [p["loc"] for p in response.json()["detail"]] == [["body", "proline"]]


@pytest.mark.parametrize(
    ("payload", "loc"),
    [({"dataframe_split": {"columns": [1, *list(ROW)[1:]], "data": [list(ROW.values())]}},
      ["body", "dataframe_split", "columns"]),
     ({"dataframe_split": {"columns": [None, *list(ROW)[1:]], "data": [list(ROW.values())]}},
      ["body", "dataframe_split", "columns"]),
     ({"dataframe_split": {"columns": [*ROW, "proline"], "data": [[*ROW.values(), 1.0]]}},
      ["body", "dataframe_split", "columns"])],
    ids=["number-column", "null-column", "duplicate-column"],
)
def test_invocations_refuses_column_names_that_are_not_distinct_strings(api: Running, payload: dict, loc: list) -> None:
    response = api.client.post("/invocations", json=payload)
    assert response.status_code == 422, response.text
    assert [p["loc"] for p in response.json()["detail"]] == [loc]


def test_a_field_given_twice_in_one_record_gets_422(api: Running) -> None:
    body = json.dumps(ROW)[:-1] + ', "proline": 5.0}'
    response = api.client.post(f"/predict/{MODEL}", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "duplicate field proline" in response.json()["detail"][0]["msg"]


def test_413_for_bodies_over_the_limit_declared_or_streamed(api: Running) -> None:
    big = json.dumps([ROW] * 40).encode()
    assert len(big) > LIMIT
    declared = api.client.post(f"/predict/{MODEL}", content=big, headers={"content-type": "application/json"})
    streamed = api.client.post(f"/predict/{MODEL}", content=iter([big[:4000], big[4000:]]),  # chunked: no length
                               headers={"content-type": "application/json"})
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert "limit of 8192 bytes" in declared.json()["detail"]


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                     "application/jsonp"],
    ids=["none", "text", "form", "multipart", "json-lookalike"],
)
@pytest.mark.parametrize("path", [f"/predict/{MODEL}", "/invocations"], ids=["predict", "invocations"])
def test_415_for_bodies_not_sent_as_json(api: Running, path: str, content_type: str | None) -> None:
    body = json.dumps(ROW if path.startswith("/predict") else {"inputs": [ROW]}).encode()
    response = api.client.post(path, content=body, headers={"content-type": content_type} if content_type else {})
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/vnd.x+json"]
)
def test_json_content_types_are_accepted(api: Running, content_type: str) -> None:
    response = api.client.post(f"/predict/{MODEL}", content=json.dumps(ROW).encode(),
                               headers={"content-type": content_type})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("path", "payload"),
    [(f"/predict/{MODEL}", [ROW] * 4), ("/invocations", {"dataframe_records": [ROW] * 4}),
     ("/invocations", {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())] * 4}}),
     ("/invocations", {"inputs": {k: [v] * 4 for k, v in ROW.items()}})],
    ids=["predict", "records", "split", "inputs-columns"],
)
def test_413_for_more_rows_than_the_limit(api: Running, path: str, payload: object) -> None:
    response = api.client.post(path, json=payload)
    assert response.status_code == 413, response.text
    assert "at most 3 per request" in response.json()["detail"]
    assert api.client.post(f"/predict/{MODEL}", json=[ROW] * MAX_ROWS).status_code == 200


def test_404_for_a_model_that_is_not_served(api: Running) -> None:
    response = api.client.post("/predict/nope", json=ROW)
    assert response.status_code == 404
    assert MODEL in response.json()["detail"]


@pytest.mark.parametrize(
    "payload",
    [{"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())]}}, {"dataframe_records": [ROW]},
     {"inputs": [ROW]}, {"inputs": {k: [v] for k, v in ROW.items()}}, {"dataframe_records": [ROW], "params": {}}],
    ids=["dataframe_split", "dataframe_records", "inputs-records", "inputs-columns", "with-params"],
)
def test_invocations_speaks_mlflows_scoring_payloads(api: Running, payload: dict) -> None:
    expected = api.client.post(f"/predict/{MODEL}", json=ROW).json()["predictions"]
    response = api.client.post("/invocations", json=payload)
    assert response.json() == {"predictions": expected}
    assert (response.headers["x-model-name"], response.headers["x-model-version"]) == (MODEL, "1")


def test_invocations_rejects_other_payloads_and_unknown_models(api: Running) -> None:
    assert api.client.post("/invocations", json={"instances": [ROW]}).status_code == 422
    assert api.client.post("/invocations", json={"inputs": [{"x": 1}]}).status_code == 422
    assert api.client.post("/invocations?model=nope", json={"inputs": [ROW]}).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-hub-signature-256": "sha256=" + "0" * 64}, {"x-hub-signature-256": sign(b"other-secret", b"{}")}],
    ids=["missing", "wrong", "other-key"],
)
def test_webhook_rejects_missing_and_bad_signatures(api: Running, headers: dict) -> None:
    response = api.client.post("/webhook", content=b"{}", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "admin-token"], ids=["missing", "wrong", "not-bearer"])
def test_admin_reconcile_needs_the_token(api: Running, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    assert api.client.post("/reconcile", headers=headers).status_code == 401


def test_signed_push_to_the_deployed_branch_reconciles_at_once(server_on_v1: Running, trained: Trained) -> None:
    pin(trained.root, **{MODEL: trained.entries["v2"]})
    elsewhere = json.dumps({"ref": "refs/heads/feature"}).encode()
    ignored = server_on_v1.client.post(
        "/webhook", content=elsewhere, headers={"x-hub-signature-256": sign(SECRET, elsewhere)}
    )
    assert (ignored.status_code, ignored.json()["accepted"]) == (200, False)
    for event in ("ping", "issues"):
        other = server_on_v1.client.post(
            "/webhook", content=b"{}", headers={"x-github-event": event, "x-hub-signature-256": sign(SECRET, b"{}")}
        )
        assert (other.status_code, other.json()["accepted"]) == (200, False), event
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    response = server_on_v1.client.post(
        "/webhook", content=body, headers={"x-github-event": "push", "x-hub-signature-256": sign(SECRET, body)}
    )
    assert (response.status_code, response.json()) == (202, {"accepted": True})
    wait_until(lambda: server_on_v1.model_status()["live_version"] == 2, timeout=10)
    assert server_on_v1.client.post(f"/predict/{MODEL}", json=ROW).json()["version"] == 2


def test_a_replayed_webhook_delivery_is_refused(server_on_v1: Running) -> None:
    body = json.dumps({"ref": "refs/heads/main"}).encode()

    def deliver(delivery: str) -> int:
        headers = {"x-github-event": "push", "x-github-delivery": delivery, "x-hub-signature-256": sign(SECRET, body)}
        return server_on_v1.client.post("/webhook", content=body, headers=headers).status_code

    assert [deliver("d-1"), deliver("d-1"), deliver("d-2")] == [202, 409, 202]


def test_webhook_and_admin_calls_are_off_without_their_secrets(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    with serving(settings_for(trained, tmp_path, webhook_secret=None, admin_token=None)) as running:
        assert running.client.post("/webhook", content=b"{}").status_code == 404
        assert running.client.post("/reconcile").status_code == 404
        assert running.client.get("/healthz").json() == {"ok": True}


def test_metrics_count_requests_by_version_and_status_and_show_the_live_version(api: Running) -> None:
    api.client.post(f"/predict/{MODEL}", json=ROW)
    api.client.post(f"/predict/{MODEL}", json={})
    api.client.post("/invocations", json={"inputs": [ROW]})
    response = api.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        f'mlpin_requests_total{{endpoint="predict",model="{MODEL}",status="200",version="1"}}',
        f'mlpin_requests_total{{endpoint="predict",model="{MODEL}",status="422",version="1"}}',
        f'mlpin_requests_total{{endpoint="invocations",model="{MODEL}",status="200",version="1"}}',
        f'mlpin_request_seconds_bucket{{le="0.5",model="{MODEL}",version="1"}}',
        f'mlpin_live_version_info{{artifact_sha256="{api.service.slots.get(MODEL).artifact_sha256}",'
        f'model="{MODEL}",version="1"}} 1.0',
        f'mlpin_swaps_total{{model="{MODEL}"}} 1.0',
    ):
        assert line in text, line


def test_the_page_shows_each_model_its_versions_pin_commit_and_a_predict_form(api: Running, trained: Trained) -> None:
    response = api.client.get("/")
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    revision = api.client.get("/status").json()["pin"]["revision"]
    assert (
        f'<tr data-model="{MODEL}"><td>{MODEL}</td><td>v1</td><td>v1</td><td>{revision[:12]}</td>'
        '<td class="Ready">Ready</td>'
        in page
    )
    assert f'<form data-model="{MODEL}">' in page and "&quot;alcohol&quot;" in page  # prefilled with the logged example
    example = api.client.get("/models").json()[0]["example"]
    assert api.client.post(f"/predict/{MODEL}", json=example).status_code == 200


def test_a_request_that_cannot_be_logged_is_not_answered(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    blocker = tmp_path / "log-is-a-file"
    blocker.write_text("the log folder cannot be created here")
    with serving(settings_for(trained, tmp_path, log_dir=blocker)) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        response = running.client.post(f"/predict/{MODEL}", json=ROW)
        assert response.status_code == 503
        assert "nothing was answered or logged" in response.json()["detail"]


def test_readyz_is_503_with_the_reason_while_predictions_cannot_be_logged(
    trained: Trained, tmp_path: Path, caplog
) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    blocker = tmp_path / "log-is-a-file"
    blocker.write_text("the log folder cannot be created here")
    with caplog.at_level(logging.INFO, logger="mlpin.serving"), \
            serving(settings_for(trained, tmp_path, log_dir=blocker)) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        assert running.client.post(f"/predict/{MODEL}", json=ROW).status_code == 503
        ready = running.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["not_ready"] == ["prediction_log"]
        assert str(blocker) in ready.json()["prediction_log"]
        blocker.unlink()  # the operator frees the folder: ready again without a request getting through first
        assert running.client.get("/readyz").status_code == 200
        response = running.client.post(f"/predict/{MODEL}", json=ROW, headers={"x-request-id": "after-fix"})
        assert response.status_code == 200
    assert [r["request_id"] for r in read_records(blocker)] == ["after-fix"]
    events = [getattr(r, "event", "") for r in caplog.records]
    assert events.count("log_failed") == 1 and events.count("log_recovered") == 1
