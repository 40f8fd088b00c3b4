"""The prediction routes reached without FastAPI's router: a pure ASGI middleware.

For a single record, matching the path against every route and solving the endpoint's
dependencies took more of the event loop than the prediction's own work. `POST
/predict/{model}` and `POST /invocations` are recognised here by their path and handed
to the same endpoint functions FastAPI would call, with the same arguments; an
`HTTPException` becomes the app's answer to it (`http.http_error`). Anything else (another path or
method, `/predict/a/b`, a trailing slash) goes to the app untouched. Installed inside
Starlette's error middleware, so an unexpected exception is still the app's 500. The
routes stay registered: they are the OpenAPI contract, and what a test client without
this middleware reaches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from serving.service import Service

PREDICT = "/predict/"


class PredictionFastPath:
    """Sends the two prediction routes' POSTs straight to their endpoints; the rest to `app`."""

    def __init__(self, app: ASGIApp, *, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One ASGI call."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = get_route_path(scope)  # as Starlette's router matches it
        model = path[len(PREDICT):] if path.startswith(PREDICT) else None
        if path != "/invocations" and (not model or "/" in model):
            await self.app(scope, receive, send)
            return
        from serving.routes import predict

        request = Request(scope, receive, send)
        try:
            if model:
                response = await predict.predict(model, request, self.service)
            else:
                response = await predict.invocations(request, self.service, request.query_params.get("model"))
        except HTTPException as exc:
            from serving.http import http_error

            response = await http_error(request, exc)
        await response(scope, receive, send)
