"""The prediction routes answered by the ASGI fast path are answered exactly as FastAPI's own
routing answers them (status, body, headers), and everything else still reaches FastAPI."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import httpx
import pytest

from serving.app import create_app
from serving.fastpath import PredictionFastPath
from tests.serving.helpers import MODEL, ROW, Running

JSON = {"content-type": "application/json", "x-request-id": "same-id"}
REQUESTS = [
    ("POST", f"/predict/{MODEL}", JSON, json.dumps(ROW)),
    ("POST", f"/predict/{MODEL}", JSON, json.dumps([ROW, {**ROW, "alcohol": "high"}, {"nope": 1}])),
    ("POST", f"/predict/{MODEL}", JSON, "{not json"),
    ("POST", f"/predict/{MODEL}", {"content-type": "text/plain"}, json.dumps(ROW)),
    ("POST", "/predict/no_such_model", JSON, json.dumps(ROW)),
    ("POST", "/invocations", JSON, json.dumps({"dataframe_records": [ROW, ROW]})),
    ("POST", f"/invocations?model={MODEL}", JSON, json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1]]}})),
    ("POST", "/invocations?model=no_such_model", JSON, json.dumps({"dataframe_records": [ROW]})),
    ("POST", "/invocations", JSON, json.dumps({"instances": [ROW]})),
    ("GET", f"/predict/{MODEL}", {}, None),
    ("POST", f"/predict/{MODEL}/more", JSON, json.dumps(ROW)),
    ("POST", "/predict/", JSON, json.dumps(ROW)),
]
IDS = ["one-record", "bad-records", "bad-json", "not-json", "unknown-model", "mlflow-records", "mlflow-bad-split",
       "mlflow-unknown-model", "mlflow-unknown-format", "get", "deeper-path", "no-model"]


@pytest.fixture
def by_fastapi(server_on_v1: Running) -> httpx.AsyncClient:
    """The same live service behind an app without the fast path: FastAPI routes every request."""
    service = dataclasses.replace(server_on_v1.service, batchers={})  # its own batchers: another event loop
    app = create_app(service=service)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not PredictionFastPath]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize(("method", "path", "headers", "content"), REQUESTS, ids=IDS)
def test_the_fast_path_answers_as_fastapis_routing_does(server_on_v1: Running, by_fastapi: httpx.AsyncClient,
                                                        method: str, path: str, headers: dict,
                                                        content: str | None) -> None:
    fast = server_on_v1.client.request(method, path, headers=headers, content=content)
    routed = asyncio.run(by_fastapi.request(method, path, headers=headers, content=content))
    assert (fast.status_code, fast.json()) == (routed.status_code, routed.json())
    kept = ("content-type", "x-request-id", "x-model-name", "x-model-version", "allow")
    assert {k: fast.headers.get(k) for k in kept} == {k: routed.headers.get(k) for k in kept}


def test_the_served_app_has_the_fast_path(server_on_v1: Running) -> None:
    app = create_app(service=server_on_v1.service)
    assert [m.cls for m in app.user_middleware] == [PredictionFastPath]


@pytest.mark.parametrize("content", [
    json.dumps(ROW).replace("}", ',"\\ud800":1}'),
    '{"\\ud800":1,"\\ud800":2}',
], ids=["unknown-field", "duplicate-field"])
@pytest.mark.parametrize("path", [f"/predict/{MODEL}", f"/invocations?model={MODEL}"])
def test_a_lone_surrogate_field_name_gets_a_422_not_a_500(server_on_v1: Running, by_fastapi: httpx.AsyncClient,
                                                           path: str, content: str) -> None:
    if path.startswith("/invocations"):
        content = json.dumps({"dataframe_records": [json.loads(content)]})
    fast = server_on_v1.client.post(path, headers=JSON, content=content)
    routed = asyncio.run(by_fastapi.post(path, headers=JSON, content=content))
    assert fast.status_code == routed.status_code == 422, fast.text
    assert fast.json() == routed.json()
    assert r'\ud800' in json.dumps(fast.json())  # the name is in the detail, escaped
