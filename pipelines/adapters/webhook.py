"""The signed call that tells serving to reconcile now, sent by `mlpin deploy` to every replica.

Signed like a GitHub webhook: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`
with the shared secret, so serving verifies both with one check. Optional: serving
also polls, so a failed call is reported (one line per replica), not fatal.

`MLPIN_DEPLOY_WEBHOOK_URL` holds one URL or several (comma and/or whitespace separated),
one per replica; they are called concurrently, each with its own timeout, so a replica
that hangs delays the others' calls by nothing and the command by at most TIMEOUT_S.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel

from pipelines.core.errors import InvalidInput, Problem
from pipelines.core.signing import sign

URL_VARIABLE = "MLPIN_DEPLOY_WEBHOOK_URL"
SECRET_VARIABLE = "MLPIN_WEBHOOK_SECRET"
TIMEOUT_S = 10
POLL_NOTE = "serving picks up the pin on its next poll"


class WebhookCall(BaseModel):
    """What happened to the call to one replica; `url` is None when nothing was sent to any."""

    url: str | None  # shown without credentials or query
    result: str  # sent: HTTP 202 | failed: ... | not sent: ...


def webhook_urls(environ: Mapping[str, str]) -> list[str]:
    """The replicas' webhook URLs in `MLPIN_DEPLOY_WEBHOOK_URL` (none when unset); InvalidInput
    naming every entry that is not an http(s) URL with a host, so one run shows all to fix."""
    urls = [u for u in re.split(r"[,\s]+", environ.get(URL_VARIABLE, "")) if u]
    bad = [(u, why) for u in urls if (why := url_problem(u))]
    if bad:
        raise InvalidInput(
            f"{URL_VARIABLE} must list http(s) URLs (comma or space separated), one per serving replica",
            problems=[Problem(URL_VARIABLE, f"{shown(u)!r} {why}") for u, why in bad],
        )
    return list(dict.fromkeys(urls))  # the same replica twice is called once


def url_problem(url: str) -> str | None:
    """Why `url` cannot be called as a replica's URL, or None. Credentials in it are refused: they would
    travel in reports and logs (the webhook is signed with MLPIN_WEBHOOK_SECRET instead)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number, or out of range, raises here
    except ValueError:
        return "is not a well-formed URL (check the brackets around an IPv6 host and the port)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL with a host"
    if "@" in parts.netloc:
        return "holds a user or password: remove it (calls are signed with MLPIN_WEBHOOK_SECRET)"
    if port == 0 or re.search(r"[^A-Za-z0-9._\-:\[\]%]", parts.netloc):
        return "has a malformed host or port"
    return None


def failure_reason(exc: BaseException) -> str:
    """A failed call in words that never hold the URL (its query or credentials): the socket's error,
    else the exception's kind."""
    reason = getattr(exc, "reason", None) if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, OSError) and reason.strerror:
        return f"[Errno {reason.errno}] {reason.strerror}" if reason.errno is not None else reason.strerror
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    return f"{type(reason).__name__}"


def shown(url: str) -> str:
    """`url` as reports show it: no user, password or token before the host, no query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
    except ValueError:  # e.g. a port that is not a number
        return "<unparsable URL>"
    query = "?…" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) + query


def notify(environ: Mapping[str, str], *, event: dict) -> list[WebhookCall]:
    """POST the event to every configured replica at once; what happened to each, in words."""
    urls = webhook_urls(environ)
    if not urls:
        return [WebhookCall(url=None, result=f"not sent: {URL_VARIABLE} is not set ({POLL_NOTE})")]
    secret = environ.get(SECRET_VARIABLE)
    if not secret:
        why = f"not sent: {URL_VARIABLE} is set but {SECRET_VARIABLE} is not; serving rejects unsigned calls"
        return [WebhookCall(url=shown(u), result=why) for u in urls]
    body = json.dumps(event, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "X-Mlpin-Event": "deploy", "X-Hub-Signature-256": sign(secret, body)}
    with ThreadPoolExecutor(max_workers=len(urls), thread_name_prefix="mlpin-webhook") as pool:
        results = list(pool.map(lambda url: _post(url, body, headers), urls))
    return [WebhookCall(url=shown(u), result=r) for u, r in zip(urls, results, strict=True)]


def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    """One replica's call; every failure becomes its line (the others' calls go on)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return f"sent: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"failed: HTTP {exc.code} from the webhook ({POLL_NOTE})"
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        return f"failed: {failure_reason(exc)} ({POLL_NOTE})"
