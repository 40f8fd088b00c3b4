"""The serving app: `create_app(settings)` builds one; `python -m serving` runs it.

The lifespan starts the reconcile loop (and log shipping, with MLPIN_LOG_URI) and stops
them; nothing runs at import time.
OpenAPI is at /docs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

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
        try:
            yield
        finally:
            await service.loop.stop()
            service.predictions.close()
            if service.shipper:
                await service.shipper.stop()

    app = FastAPI(title="mlpin serving", summary="Serves the models models/production.yaml pins.", lifespan=lifespan)
    app.state.service = service
    for module in (status, predict, hooks):
        app.include_router(module.router)
    return app
