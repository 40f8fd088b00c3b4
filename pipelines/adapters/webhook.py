"""The signed call that tells serving to reconcile now, sent by `mlpin deploy`.

Signed like a GitHub webhook: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`
with the shared secret, so serving verifies both with one check. Optional: serving
also polls, so a failed call is reported, not fatal.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping

from pipelines.core.signing import sign

URL_VARIABLE = "MLPIN_DEPLOY_WEBHOOK_URL"
SECRET_VARIABLE = "MLPIN_WEBHOOK_SECRET"
TIMEOUT_S = 10


def notify(environ: Mapping[str, str], *, event: dict) -> str:
    """POST the event when a URL is configured; returns what happened, in words."""
    url = environ.get(URL_VARIABLE)
    if not url:
        return f"not sent: {URL_VARIABLE} is not set (serving picks up the pin on its next poll)"
    secret = environ.get(SECRET_VARIABLE)
    if not secret:
        return f"not sent: {URL_VARIABLE} is set but {SECRET_VARIABLE} is not; serving rejects unsigned calls"
    body = json.dumps(event, sort_keys=True).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Mlpin-Event": "deploy", "X-Hub-Signature-256": sign(secret, body),
    })
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return f"sent: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"failed: HTTP {exc.code} from the webhook (serving picks up the pin on its next poll)"
    except (urllib.error.URLError, OSError) as exc:
        return f"failed: {getattr(exc, 'reason', exc)} (serving picks up the pin on its next poll)"
