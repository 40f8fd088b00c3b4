"""Webhook signatures: GitHub's own test vector, str and bytes secrets, and every way a header is wrong."""

from __future__ import annotations

import pytest

from pipelines.core.signing import sign, signature_ok

# From GitHub's "Validating webhook deliveries": what GitHub sends for this secret and body.
SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
GITHUB = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


@pytest.mark.parametrize("secret", [SECRET, SECRET.encode()], ids=["str-secret", "bytes-secret"])
def test_sign_matches_what_github_sends(secret: str | bytes) -> None:
    assert sign(secret, BODY) == GITHUB


@pytest.mark.parametrize(
    ("secret", "body", "header", "ok"),
    [
        (SECRET, BODY, GITHUB, True),
        (SECRET.encode(), BODY, GITHUB, True),
        (SECRET, BODY, None, False),
        (SECRET, BODY, "", False),
        (SECRET, BODY, GITHUB.removeprefix("sha256="), False),
        (SECRET, BODY, GITHUB.replace("sha256=", "sha1="), False),
        (SECRET, BODY, GITHUB[:-1], False),
        (SECRET, BODY + b" ", GITHUB, False),
        ("another secret", BODY, GITHUB, False),
        (SECRET, BODY, GITHUB[:-1] + "é", False),
    ],
    ids=["valid", "valid-bytes-secret", "missing", "empty", "no-prefix", "other-algorithm",
         "truncated", "body-changed", "other-secret", "non-ascii"],
)
def test_signature_ok(secret: str | bytes, body: bytes, header: str | None, ok: bool) -> None:
    assert signature_ok(secret, body, header) is ok
