"""The serving app: `create_app(settings)` builds one; `python -m serving` runs it.

The lifespan starts the reconcile loop (and log shipping, with MLPIN_LOG_URI) and stops
them; nothing runs at import time.
OpenAPI is at /docs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving import contract
from serving.fastpath import PredictionFastPath
from serving.http import http_error
from serving.logs import event
from serving.routes import hooks, predict, status
from serving.service import Service, build_service
from serving.settings import ServingSettings, load_settings


def create_app(settings: ServingSettings | None = None, *, service: Service | None = None) -> FastAPI:
    """An app serving whatever the configured pin says (settings from MLPIN_* by default)."""
    service = service or build_service(settings or load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.loop.start()
        if service.shipper:
            service.shipper.start()
        if service.settings.workers > 1:
            # A worker accepts connections once its lifespan has started: waiting for its first
            # pass keeps requests on the workers that serve already (one worker answers /readyz
            # for all), instead of a worker still loading answering 503.
            await service.loop.first_pass()
        try:
            yield
        finally:
            await service.loop.stop()
            service.predictions.close()
            if service.shipper:
                await service.shipper.stop()

    app = FastAPI(title="mlpin serving", summary="Serves the models models/production.yaml pins.", lifespan=lifespan)
    app.state.service = service
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for module in (status, predict, hooks):
        app.include_router(module.router)
    contract.install(app, service)
    app.add_middleware(PredictionFastPath, service=service)
    return app


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """500 as JSON naming the error's kind (the traceback goes to the server log, not the client)."""
    event("request_failed", level=logging.ERROR, exc_info=exc, method=request.method, path=request.url.path,
          error=type(exc).__name__)
    return JSONResponse(
        {"detail": f"internal error ({type(exc).__name__}); nothing was answered or logged for this request"},
        status_code=500,
    )
