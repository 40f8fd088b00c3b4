"""Ways to cut the poll short: GitHub's signed push webhook, and an admin's reconcile call.

Both are refused unless their secret is configured; signatures and tokens are compared
in constant time. Each call is logged (`webhook`, `reconcile_requested`): accepted or
not and why, the caller's address and GitHub's delivery id; never the body or a secret.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from pipelines.core.signing import signature_ok
from serving.contract import body, errors
from serving.http import read_body
from serving.logs import event
from serving.routes.status import status
from serving.service import ServiceDep

router = APIRouter(tags=["reconcile"])


@router.post(
    "/webhook", status_code=202, responses={200: {"description": "a valid call that needs no pass"}}
    | errors(401, 404, 409, 413), openapi_extra=body({"description": "GitHub's push event, signed"}),
)
async def webhook(request: Request, service: ServiceDep) -> Any:
    """A push event (or `mlpin deploy`'s call) signed with X-Hub-Signature-256: reconcile now.

    202 when a pass starts; 200 with the reason when the event is valid but needs none
    (a ping, another event type, a push to another branch)."""
    secret = service.settings.webhook_secret
    if secret is None:
        raise _refused(request, "webhook", 404, "the webhook is disabled: set MLPIN_WEBHOOK_SECRET")
    body = await read_body(request, limit=service.settings.body_limit_bytes)
    if not signature_ok(secret.get_secret_value(), body, request.headers.get("x-hub-signature-256")):
        raise _refused(request, "webhook", 401, "missing or invalid X-Hub-Signature-256")
    kind = request.headers.get("x-github-event")
    if kind is not None and kind != "push":
        return _ignored(request, f"{kind} event: only pushes change the pin")
    ref = _push_ref(body)
    if ref is not None and ref != f"refs/heads/{service.settings.branch}":
        return _ignored(request, f"push to {ref}, not the deployed branch")
    delivery = request.headers.get("x-github-delivery")
    if delivery is not None and not service.deliveries.first_time(delivery[:64]):
        raise _refused(request, "webhook", 409, "this X-GitHub-Delivery was already received: a replay")
    event("webhook", accepted=True, status=202, ref=ref, **_caller(request))
    service.loop.trigger()  # coalesced: at most one pass running and one more queued, however many arrive
    return {"accepted": True}


def _ignored(request: Request, why: str) -> JSONResponse:
    """200: a valid call that needs no pass (logged at info)."""
    event("webhook", accepted=False, status=200, why=why, **_caller(request))
    return JSONResponse({"accepted": False, "reason": why})


def _refused(request: Request, name: str, status: int, why: str) -> HTTPException:
    """The error to raise for a refused call, logged as a warning."""
    event(name, level=logging.WARNING, accepted=False, status=status, why=why, **_caller(request))
    return HTTPException(status_code=status, detail=why)


def _caller(request: Request) -> dict[str, str | None]:
    """Who called: the peer's address and GitHub's delivery id (a GUID; cut short, it may come from anyone)."""
    delivery = request.headers.get("x-github-delivery")
    return {"client": request.client.host if request.client else None, "delivery": delivery and delivery[:64]}


def _push_ref(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload.get("ref") if isinstance(payload, dict) else None


@router.post("/reconcile", responses=errors(401, 404, 422))
async def reconcile(request: Request, service: ServiceDep, retry_terminal: bool = False) -> JSONResponse:
    """Run a pass now and answer with the status after it (Authorization: Bearer <admin token>);
    `?retry_terminal=true` also retries failures that otherwise wait for a new pin."""
    token = service.settings.admin_token
    if token is None:
        raise _refused(request, "reconcile_requested", 404, "admin calls are disabled: set MLPIN_ADMIN_TOKEN")
    expected = f"Bearer {token.get_secret_value()}".encode()
    if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
        raise _refused(request, "reconcile_requested", 401, "missing or invalid bearer token")
    event("reconcile_requested", accepted=True, retry_terminal=retry_terminal or None, **_caller(request))
    service.loop.trigger_others()  # the other workers on this host (--workers) run their own pass
    # an operator asked: skip backoffs (and, when told, terminal failures' wait for a new pin)
    await asyncio.to_thread(service.reconciler.reconcile, manual=True, retry_terminal=retry_terminal)
    return JSONResponse(status(service))
