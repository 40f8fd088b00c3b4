"""What the process serves and how far it is from the pin: health, readiness, status."""

from __future__ import annotations

import os

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from serving.contract import Readiness
from serving.page import render_page
from serving.service import ServiceDep

router = APIRouter(tags=["status"])


@router.get("/healthz")
def healthz() -> dict:
    """The process is alive and answering."""
    return {"ok": True}


@router.get("/readyz", responses={
    200: {"model": Readiness}, 503: {"model": Readiness, "description": "not ready: what is not, and why"},
})
def readyz(service: ServiceDep) -> JSONResponse:
    """200 once the pin was read, every pinned model is live or deliberately suspended, and
    predictions can be logged (none is answered unlogged, so a replica that cannot log is not ready)."""
    waiting = service.reconciler.not_ready()
    body: dict = {"ready": not waiting, "not_ready": waiting}
    failure = service.predictions.check()
    if failure is not None:
        body = {"ready": False, "not_ready": [*waiting, "prediction_log"], "prediction_log": failure}
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get("/status")
def status(service: ServiceDep) -> dict:
    """The pin's status and, per model, desired and live version, condition and reason; `worker`
    is the answering process's pid and `workers` how many the host runs (with --workers N each
    worker reconciles, and answers, on its own: `mlpin replicas` asks until it has seen each)."""
    reconciler = service.reconciler
    models = [s.model_dump(mode="json") for s in sorted(reconciler.statuses.values(), key=lambda s: s.model)]
    return {"pin": reconciler.pin.model_dump(mode="json"), "models": models, "worker": os.getpid(),
            "workers": service.settings.workers}


@router.get("/models")
def models(service: ServiceDep) -> list[dict]:
    """Every live model: name, version, task, input schema and one example record (for an image
    model, the images it takes: size, channels, classes)."""
    return [
        {"name": m.name, "version": m.version, "task": m.task, "artifact_sha256": m.artifact_sha256,
         "loaded_at": m.loaded_at.isoformat(), "inputs": [c.model_dump() for c in m.columns],
         "example": m.example[0] if m.example else None}
        | ({"images": {"height": m.image.input_size[0], "width": m.image.input_size[1],
                       "channels": m.image.channels, "classes": m.image.classes}} if m.image is not None else {})
        for m in service.slots.all()
    ]


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics: requests, latency, live versions, swaps, reconcile failures."""
    return Response(service.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/", response_class=HTMLResponse)
def page(service: ServiceDep) -> HTMLResponse:
    """A web page: each model's live and desired version, pin commit, condition, and a predict form."""
    return HTMLResponse(render_page(status(service), models(service)))
