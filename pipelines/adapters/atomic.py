"""Replacing a file all at once: readers see the old content or the new, never a part.

The content goes to a uniquely named temporary file in the same folder (so two writers
never share one, and the rename stays on one filesystem), is flushed to disk, and is
renamed over the target. A failure leaves the target as it was and no temporary behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FILE_MODE = 0o644  # what a plain write gives under the usual umask: readable by other users


def write_atomic(path: Path, content: bytes | str) -> os.stat_result:
    """Write `content` (str as UTF-8) to `path`, creating its folder; the written file's stat, taken
    before the rename (what is at `path` afterwards may already be another writer's)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, FILE_MODE)  # mkstemp makes 0600; these files are shared, not secret
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            written = os.fstat(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
