"""The HMAC-SHA256 signature of a webhook body, as GitHub sends it in X-Hub-Signature-256.

One definition for both ends: `mlpin deploy` signs its call to serving, and serving
checks that call and GitHub's push events. Pure: no secrets are read here; callers
pass them in, as str (from settings or the environment) or bytes.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str | bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value of `body` under `secret`: `sha256=<hex>`."""
    key = secret.encode() if isinstance(secret, str) else secret
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_ok(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under `secret` (compared in constant time)."""
    if not header or not header.startswith(PREFIX):
        return False
    # compare bytes: compare_digest refuses str with non-ASCII characters, and a header may hold them
    return hmac.compare_digest(sign(secret, body).encode(), header.encode())
