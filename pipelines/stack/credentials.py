"""The stack's generated secrets: one file each, mode 0600, in `<dir>/secrets/` (0700).
Made once and read back on every `up`; their values are never printed, only paths."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

SECRETS_DIR = "secrets"


def secret_path(stack_dir: Path, name: str) -> Path:
    """Where the secret `name` (e.g. `mlpin-writer.password`) is kept."""
    return stack_dir / SECRETS_DIR / name


def write_private(path: Path, text: str) -> None:
    """Create `path` holding `text`, readable by its owner only from its first byte (O_EXCL: never
    an existing file, never one someone else placed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def ensure_secret(stack_dir: Path, name: str) -> str:
    """The secret `name`, generated on first use (32 URL-safe characters). Two `up`s racing agree:
    the value is written whole under a private name, then linked into place; the loser reads
    the winner's."""
    path = secret_path(stack_dir, name)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    value = secrets.token_urlsafe(24)
    draft = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    write_private(draft, value + "\n")
    try:
        os.link(draft, path)  # fails if another `up` placed it first: then its value is the secret
    except FileExistsError:
        return path.read_text().strip()
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()
    return value
