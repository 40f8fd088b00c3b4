"""The OpenAPI contract of the prediction routes: the bodies they take and every answer.

`/predict` and `/invocations` read and check their bodies themselves (bounded, and off
the event loop when large), so FastAPI cannot derive what they accept: it is declared
here, generically for any model and, each time `/openapi.json` is asked for, per live
model from its signature (`/predict/<name>`), so clients and fuzzers see the real
contract. Nothing here parses a request; the checks in `pipelines.core.inputs` decide.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from pipelines.core.inputs import InputColumn
from serving.service import Service

SCALAR = {"type": ["number", "integer", "string", "boolean", "null"]}
RECORD = {"type": "object", "additionalProperties": SCALAR,
          "description": "one record: a field per input column of the model (see GET /models)"}
RECORDS = {"anyOf": [RECORD, {"type": "array", "items": RECORD}],
           "description": "one record, or a batch of them (at most MLPIN_MAX_ROWS)"}
_MLFLOW = {
    "dataframe_split": {"type": "object", "required": ["columns", "data"], "properties": {
        "columns": {"type": "array", "items": {"type": "string"}},
        "data": {"type": "array", "items": {"type": "array", "items": SCALAR}}}},
    "dataframe_records": {"type": "array", "items": RECORD},
    "inputs": {"anyOf": [{"type": "array", "items": RECORD},
                         {"type": "object", "additionalProperties": {"type": "array", "items": SCALAR}}]},
}
MLFLOW_PAYLOAD = {
    "oneOf": [{"type": "object", "required": [name], "additionalProperties": False,
               "properties": {name: schema, "params": {"type": "object"}}} for name, schema in _MLFLOW.items()],
    "description": "an MLflow scoring payload: exactly one of dataframe_split, dataframe_records, inputs",
}
BINARY = {"type": "string", "format": "binary", "description": "a PNG, JPEG or DNG file (told by its bytes)"}
BASE64 = {"type": "string", "contentEncoding": "base64", "description": "a PNG, JPEG or DNG file, base64"}
IMAGE_BODIES_WHY = ("An image model takes images of its input size: uploaded as multipart/form-data `file` parts, "
                    'or base64 in JSON (`{"images": [...]}` or `{"image": "..."}`); at most MLPIN_MAX_ROWS. '
                    "PNG/JPEG are decoded in the model's channels, DNG through the ISP it was trained with. "
                    "The answer adds each image's class probabilities.")
IMAGES_PREDICTED = {"type": "object", "required": ["model", "version", "request_id", "predictions", "probabilities"],
                    "properties": {"model": {"type": "string"}, "version": {"type": "integer"},
                                   "request_id": {"type": "string"},
                                   "predictions": {"type": "array", "items": {"type": "string"}},
                                   "probabilities": {"type": "array", "items": {
                                       "type": "object", "additionalProperties": {"type": "number"}}}}}
REQUEST_ID = {"name": "x-request-id", "in": "header", "required": False, "schema": {"type": "string"},
              "description": "echoed, and logged with the prediction, when it is 1-64 of A-Z a-z 0-9 . _ : -"}


class Problem(BaseModel):
    """One problem with a request: where, what, and its kind."""

    model_config = ConfigDict(extra="allow")
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer: a sentence, or (422) every problem found."""

    detail: str | list[Problem]


class Predicted(BaseModel):
    """`/predict`'s answer."""

    model: str
    version: int
    request_id: str
    predictions: list[Any]


class Scored(BaseModel):
    """`/invocations`' answer (MLflow's)."""

    predictions: list[Any]


class Readiness(BaseModel):
    """`/readyz`'s answer: what is not ready, and why predictions cannot be logged when they cannot."""

    ready: bool
    not_ready: list[str]
    prediction_log: str | None = None


WHY = {
    400: "more than one model is live and `?model=` names none",
    401: "missing or invalid signature or token",
    404: "no such model live, or the endpoint is disabled",
    409: "a replayed delivery",
    413: "the body is over MLPIN_BODY_LIMIT_BYTES, or has more than MLPIN_MAX_ROWS records (or images)",
    415: "the body is not sent as JSON (Content-Type: application/json), or as files (multipart/form-data) to "
         "an image model",
    422: "the body is not JSON, not records, or breaks the model's signature or data contract: every problem; "
         "for an image model, images that are not PNG/JPEG/DNG or not of its input size",
    503: "the model is pinned but not live yet, or predictions cannot be logged",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses` for these error statuses, each with the error body."""
    return {code: {"model": ErrorBody, "description": WHY[code]} for code in codes}


def body(schema: dict, *, example: Any = None) -> dict[str, Any]:
    """`openapi_extra` declaring a required JSON request body of `schema`."""
    media: dict[str, Any] = {"schema": schema} | ({"example": example} if example is not None else {})
    return {"requestBody": {"required": True, "content": {"application/json": media}}}


def install(app: FastAPI, service: Service) -> None:
    """Serve `/openapi.json` with a `/predict/<name>` operation per live model (the rest built once)."""
    generic: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not generic:
            app.openapi_schema = None
            generic.update(FastAPI.openapi(app))
        schema = copy.deepcopy(generic)
        template = schema["paths"]["/predict/{model}"]["post"]
        live_models = service.slots.all()
        for live in live_models:
            operation = _for_images(template, live.name, max_images=service.settings.max_rows) \
                if live.image is not None else _for_model(template, live.name, live.columns, live.example)
            schema["paths"][f"/predict/{live.name}"] = {"post": operation}
        for parameter in schema["paths"]["/invocations"]["post"]["parameters"]:
            if parameter["name"] == "model" and live_models:
                parameter["schema"] = {"anyOf": [{"enum": [m.name for m in live_models]}, {"type": "null"}]}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _for_model(template: dict, name: str, columns: list[InputColumn], example: list[dict]) -> dict:
    operation = copy.deepcopy(template)
    operation["operationId"] = f"predict_{name}"
    operation["summary"] = f"Predict with {name}"
    operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("in") != "path"]
    record = record_schema(columns)
    schema = {"anyOf": [record, {"type": "array", "items": record}], "description": RECORDS["description"]}
    operation["requestBody"]["content"]["application/json"] = {"schema": schema, "example": example[0]} \
        if example else {"schema": schema}
    return operation


def _for_images(template: dict, name: str, *, max_images: int) -> dict:
    operation = _for_model(template, name, [], [])
    operation["summary"] = f"Classify images with {name}"
    operation["description"] = IMAGE_BODIES_WHY
    operation["requestBody"]["content"] = {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "array", "minItems": 1, "maxItems": max_images, "items": BINARY}}},
            "encoding": {"file": {"contentType": "image/png, image/jpeg, image/x-adobe-dng"}}},
        "application/json": {"schema": {"oneOf": [
            {"type": "object", "required": ["images"], "additionalProperties": False, "properties": {
                "images": {"type": "array", "minItems": 1, "maxItems": max_images, "items": BASE64}}},
            {"type": "object", "required": ["image"], "additionalProperties": False,
             "properties": {"image": BASE64}}]}},
    }
    answer = operation["responses"]["200"]["content"]["application/json"]
    answer["schema"] = IMAGES_PREDICTED
    return operation


def record_schema(columns: list[InputColumn]) -> dict[str, Any]:
    """The JSON schema of one record a model with these input columns accepts."""
    return {"type": "object", "additionalProperties": False,
            "required": [c.name for c in columns if c.required],
            "properties": {c.name: _column_schema(c) for c in columns}}


_JSON_TYPES = {"double": "number", "float": "number", "long": "integer", "integer": "integer", "string": "string",
               "boolean": "boolean"}


def _column_schema(column: InputColumn) -> dict[str, Any]:
    gaps = not column.required or column.nullable
    schema: dict[str, Any] = {"type": [_JSON_TYPES[column.type], "null"] if gaps else _JSON_TYPES[column.type]}
    if column.values is not None and not column.allow_unseen:
        schema["enum"] = [*column.values, None] if gaps else list(column.values)
    return schema
