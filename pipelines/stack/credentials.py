"""The stack's generated secrets: one file each, mode 0600, in `<dir>/secrets/` (0700).
Made once and read back on every `up`; their values are never printed, only paths."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRETS_DIR = "secrets"


def secret_path(stack_dir: Path, name: str) -> Path:
    """Where the secret `name` (e.g. `writer.password`) is kept."""
    return stack_dir / SECRETS_DIR / name


def ensure_secret(stack_dir: Path, name: str) -> str:
    """The secret `name`, generated on first use (32 URL-safe characters)."""
    path = secret_path(stack_dir, name)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    value = secrets.token_urlsafe(24)
    # O_EXCL: two `up`s racing never both write; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value
