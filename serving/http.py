"""Request plumbing shared by the routes: bounded bodies, JSON, request ids.

The body limit is enforced while reading, so a client that lies about (or omits)
Content-Length still cannot make the process buffer more than the limit.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request, Response

from serving import fastjson

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
OFF_LOOP_BYTES = 64 * 1024  # bodies past this are parsed and checked on a worker thread
T = TypeVar("T")


async def read_body(request: Request, *, limit: int) -> bytes:
    """The raw body, or 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def off_loop(size: int, work: Callable[[], T]) -> T:
    """`work()` for a body of `size` bytes: on a worker thread when the body is large, inline when small.

    Parsing and checking megabytes of JSON takes long enough to stall every other request,
    health checks included; for a single record the hop to a thread costs more than the work."""
    if size <= OFF_LOOP_BYTES:
        return work()
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(work)


def require_json(request: Request) -> None:
    """415 unless the body says it is JSON (`application/json`, or `application/<x>+json`).

    A browser sends text/plain, form or multipart bodies cross-site without asking first;
    JSON needs a CORS preflight this server never grants, so no other page can make a
    visitor's browser post predictions (and fill the prediction log)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise HTTPException(
            status_code=415, detail=f"expected Content-Type: application/json; found {media or 'none'!r:.60}"
        )


def _too_large(limit: int) -> HTTPException:
    return HTTPException(status_code=413, detail=f"request body is larger than the limit of {limit} bytes")


def parse_json(body: bytes) -> Any:
    """The parsed body; 422 (as FastAPI reports bad JSON) when it is not JSON, or names a field twice."""
    try:
        return fastjson.loads(body, fallback=_strict_loads)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise HTTPException(
            status_code=422, detail=[{"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json_invalid"}]
        ) from None


def _strict_loads(body: bytes) -> Any:
    return json.loads(body, parse_constant=_no_constant, object_pairs_hook=_distinct_keys)


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and no model should see them.
    raise ValueError(f"{name} is not a JSON number")


def _distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys; a record naming a field twice is ambiguous, not a choice to make
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"duplicate field {twice}: each field may appear once in an object")
    return found


def request_id(request: Request) -> str:
    """The caller's X-Request-Id when it is a sane token, else a fresh one."""
    given = request.headers.get("x-request-id", "")
    return given if REQUEST_ID.match(given) else uuid.uuid4().hex


async def http_error(request: Request, exc: HTTPException) -> Response:
    """FastAPI's answer to an HTTPException; but when its detail holds text UTF-8 cannot carry (a
    lone surrogate a client sent as a field name, echoed in the 422), the detail is sent with
    every non-ASCII character escaped: still the same JSON value, instead of a 500."""
    from fastapi.exception_handlers import http_exception_handler

    try:
        return await http_exception_handler(request, exc)
    except UnicodeEncodeError:
        body = json.dumps({"detail": exc.detail}, ensure_ascii=True)
        return Response(body, status_code=exc.status_code, headers=exc.headers, media_type="application/json")
