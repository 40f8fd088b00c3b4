"""The signed call that tells serving to reconcile now, sent by `mlpin deploy` to every replica.

Signed like a GitHub webhook: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`
with the shared secret, so serving verifies both with one check. Optional: serving
also polls, so a failed call is reported (one line per replica), not fatal.

`MLPIN_DEPLOY_WEBHOOK_URL` holds one URL or several (comma and/or whitespace separated),
one per replica; they are called concurrently, each with its own timeout, so a replica
that hangs delays the others' calls by nothing and the command by at most TIMEOUT_S.
"""

from __future__ import annotations

import json
import re
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
    bad = [u for u in urls if urlsplit(u).scheme not in ("http", "https") or not urlsplit(u).hostname]
    if bad:
        raise InvalidInput(
            f"{URL_VARIABLE} must list http(s) URLs (comma or space separated), one per serving replica",
            problems=[Problem(URL_VARIABLE, f"{shown(u)!r} is not an http(s) URL with a host") for u in bad],
        )
    return list(dict.fromkeys(urls))  # the same replica twice is called once


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
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"failed: {getattr(exc, 'reason', exc)} ({POLL_NOTE})"
