"""Ways to cut the poll short: GitHub's signed push webhook, and an admin's reconcile call.

Both are refused unless their secret is configured; signatures and tokens are compared
in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from pipelines.core.signing import signature_ok
from serving.http import read_body
from serving.routes.status import status
from serving.service import ServiceDep

router = APIRouter(tags=["reconcile"])


@router.post("/webhook", status_code=202)
async def webhook(request: Request, service: ServiceDep) -> Any:
    """A push event (or `mlpin deploy`'s call) signed with X-Hub-Signature-256: reconcile now.

    202 when a pass starts; 200 with the reason when the event is valid but needs none
    (a ping, another event type, a push to another branch)."""
    secret = service.settings.webhook_secret
    if secret is None:
        raise HTTPException(status_code=404, detail="the webhook is disabled: set MLPIN_WEBHOOK_SECRET")
    body = await read_body(request, limit=service.settings.body_limit_bytes)
    if not signature_ok(secret.get_secret_value(), body, request.headers.get("x-hub-signature-256")):
        raise HTTPException(status_code=401, detail="missing or invalid X-Hub-Signature-256")
    event = request.headers.get("x-github-event")
    if event is not None and event != "push":
        return JSONResponse({"accepted": False, "reason": f"{event} event: only pushes change the pin"})
    ref = _push_ref(body)
    if ref is not None and ref != f"refs/heads/{service.settings.branch}":
        return JSONResponse({"accepted": False, "reason": f"push to {ref}, not the deployed branch"})
    service.loop.trigger()
    return {"accepted": True}


def _push_ref(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload.get("ref") if isinstance(payload, dict) else None


@router.post("/reconcile")
async def reconcile(request: Request, service: ServiceDep) -> JSONResponse:
    """Run a pass now and answer with the status after it (Authorization: Bearer <admin token>)."""
    token = service.settings.admin_token
    if token is None:
        raise HTTPException(status_code=404, detail="admin calls are disabled: set MLPIN_ADMIN_TOKEN")
    expected = f"Bearer {token.get_secret_value()}".encode()
    if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
        raise HTTPException(status_code=401, detail="missing or invalid bearer token")
    await asyncio.to_thread(service.reconciler.reconcile, manual=True)  # an operator asked: skip backoffs
    return JSONResponse(status(service))
