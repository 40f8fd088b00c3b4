"""Predictions: `/predict/{model}` with records, `/invocations` with MLflow's payloads.

Each request takes the live model once, validates the body against its signature and
the allowed values of its categories (every problem listed; accepted unseen values are
logged and counted), and is predicted (batched with concurrent requests for the
same model) and durably logged before it is answered, so no answered request is
missing from the log.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from fastapi import APIRouter, HTTPException, Request

from pipelines.adapters.logsink import LogUnwritable
from pipelines.core.inputs import check_batch, overflow_problems, records_from_mlflow, unseen_values
from serving.contract import MLFLOW_PAYLOAD, RECORDS, REQUEST_ID, Predicted, Scored, body, errors
from serving.fastjson import FastJSONResponse
from serving.http import off_loop, parse_json, read_body, request_id, require_json
from serving.images import images_from_json, images_from_multipart, is_multipart
from serving.logs import event
from serving.service import Service, ServiceDep
from serving.slot import LiveModel, NumericOverflow

router = APIRouter(tags=["predict"])
log = logging.getLogger("mlpin.serving")


@router.post(
    "/predict/{model}", responses={200: {"model": Predicted}} | errors(404, 413, 415, 422, 503),
    openapi_extra=body(RECORDS) | {"parameters": [REQUEST_ID]},
)
async def predict(model: str, request: Request, service: ServiceDep) -> FastJSONResponse:
    """Predict one record (an object) or a batch (a list of objects); an image model takes images."""
    content_type = request.headers.get("content-type", "")
    if not is_multipart(content_type):
        require_json(request)
    body = await read_body(request, limit=service.settings.body_limit_bytes)
    live = _live(service, model)
    rid = request_id(request)
    if live.image is not None:
        return await _predict_images(service, live, body, content_type, rid)
    if is_multipart(content_type):
        raise HTTPException(status_code=415, detail=f"{live.name} is a tabular model: it takes JSON records "
                                                    "(Content-Type: application/json), not uploaded files")
    with service.metrics.timed(live, "predict"):
        checked = await off_loop(len(body), partial(_checked, body, live, service.settings.max_rows, mlflow=False))
        predictions = await _answer(service, live, checked, rid, size=len(body))
    content = {"model": live.name, "version": live.version, "request_id": rid, "predictions": predictions}
    return FastJSONResponse(content, headers={"x-request-id": rid})


async def _predict_images(service: Service, live: LiveModel, body: bytes, content_type: str,
                          rid: str) -> FastJSONResponse:
    """An image model's answer: a label per image and its class probabilities."""
    assert live.image is not None
    max_images = service.settings.max_rows
    decode = partial(images_from_multipart, body, content_type, live.image, max_images=max_images) \
        if is_multipart(content_type) else partial(images_from_json, body, live.image, max_images=max_images)
    with service.metrics.timed(live, "predict"):
        images = await off_loop(len(body), decode)
        answers = await _answer(service, live, (images, {}, None), rid, size=len(body))
    content = {"model": live.name, "version": live.version, "request_id": rid,
               "predictions": [a["label"] for a in answers], "probabilities": [a["probabilities"] for a in answers]}
    return FastJSONResponse(content, headers={"x-request-id": rid})


@router.post(
    "/invocations", responses={200: {"model": Scored}} | errors(400, 404, 413, 415, 422, 503),
    openapi_extra=body(MLFLOW_PAYLOAD) | {"parameters": [REQUEST_ID]},
)
async def invocations(request: Request, service: ServiceDep, model: str | None = None) -> FastJSONResponse:
    """MLflow's scoring protocol; `?model=` picks the model when more than one is live."""
    require_json(request)
    body = await read_body(request, limit=service.settings.body_limit_bytes)
    live = _live(service, model or _only_model(service))
    if live.image is not None:
        raise HTTPException(status_code=422, detail=f"{live.name} is an image model: post its images to "
                                                    f"/predict/{live.name} (multipart files or base64 JSON)")
    rid = request_id(request)
    with service.metrics.timed(live, "invocations"):
        checked = await off_loop(len(body), partial(_checked, body, live, service.settings.max_rows, mlflow=True))
        predictions = await _answer(service, live, checked, rid, size=len(body))
    headers = {"x-request-id": rid, "x-model-name": live.name, "x-model-version": str(live.version)}
    return FastJSONResponse({"predictions": predictions}, headers=headers)


def _live(service: Service, model: str) -> LiveModel:
    live = service.slots.get(model)
    if live is not None:
        return live
    if model in service.reconciler.statuses:
        raise HTTPException(status_code=503, detail=f"model {model} is pinned but no version of it is live yet")
    names = [m.name for m in service.slots.all()]
    raise HTTPException(status_code=404, detail=f"no model named {model}; live models: {names}")


def _only_model(service: Service) -> str:
    names = [m.name for m in service.slots.all()]
    if len(names) != 1:
        raise HTTPException(
            status_code=400, detail=f"{len(names)} models are live; name one with ?model= (live: {names})"
        )
    return names[0]


# the records, the unseen values of allow_unseen columns, and the values per column when the check gathered them
Checked = tuple[list[dict], dict[str, list], list[list] | None]


def _checked(body: bytes, live: LiveModel, max_rows: int, *, mlflow: bool) -> Checked:
    """The body parsed and checked against `live`'s signature (413 or 422 otherwise); no I/O, so it may
    run on a worker thread."""
    payload = parse_json(body)
    if isinstance(payload, dict) and payload and set(payload) <= {"images", "image"}:
        raise HTTPException(status_code=422, detail=f"{live.name} is a tabular model: it takes records, not images")
    if mlflow:
        payload, problems = records_from_mlflow(payload)
        if problems:
            raise HTTPException(status_code=422, detail=[p.model_dump() for p in problems])
    if isinstance(payload, list) and len(payload) > max_rows:  # before checking them: bounded work per request
        detail = f"{len(payload)} records; at most {max_rows} per request (MLPIN_MAX_ROWS)"
        raise HTTPException(status_code=413, detail=detail)
    records, problems, columns = check_batch(payload, live.columns)
    if problems:
        raise HTTPException(status_code=422, detail=[p.model_dump() for p in problems])
    return records, unseen_values(records, live.columns), columns


async def _answer(service: Service, live: LiveModel, checked: Checked, rid: str, *, size: int) -> list:
    records, unseen, columns = checked
    if unseen:
        _note_unseen(service, live, unseen, rid)
    try:
        return await service.batcher(live.name).predict(live, records, request_id=rid, columns=columns)
    except LogUnwritable as exc:  # retry later, maybe on another replica: this one is not ready meanwhile
        detail = f"{exc.strerror}; nothing was answered or logged for this request"
        raise HTTPException(status_code=503, detail=detail) from None
    except NumericOverflow:
        problems = await off_loop(size, partial(overflow_problems, records, live.columns))
        raise HTTPException(status_code=422, detail=[p.model_dump() for p in problems]) from None


UNSEEN_LOG_INTERVAL_S = 60.0  # at most one unseen_values line per model, version and column a minute
_unseen_logged: dict[tuple[str, int, str], float] = {}


def _note_unseen(service: Service, live: LiveModel, unseen: dict[str, list], rid: str) -> None:
    """Values outside a category's allowed set that the contract lets through: the model never
    saw them in training, so count them in /metrics and say so in the log, without the
    values (they are request data) and at a bounded rate (any client can send them)."""
    service.metrics.unseen_values(live, unseen)
    now = time.monotonic()
    for column, found in unseen.items():
        key = (live.name, live.version, column)
        if now - _unseen_logged.get(key, -UNSEEN_LOG_INTERVAL_S) >= UNSEEN_LOG_INTERVAL_S:
            _unseen_logged[key] = now
            event("unseen_values", level=logging.WARNING, model=live.name, version=live.version, column=column,
                  count=len(found), request_id=rid)
