"""Serving's prediction log read back, one model's requests at a time, for `mlpin history
--logs`: every `predictions-*.jsonl` file in a local folder or under any fsspec URI (where
serving ships them). Only what history needs is kept; nothing here decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pipelines.adapters.logsink import PREFIX
from pipelines.core.answered import LoggedRequest
from pipelines.core.errors import InvalidInput, OutsideSystemError


class RequestLog:
    """The logged requests of `model` under `uri`; `skipped` counts its lines that could not be read."""

    def __init__(self, uri: str, model: str) -> None:
        self.uri = uri
        self.model = model
        self.skipped = 0

    def requests(self) -> Iterator[LoggedRequest]:
        """Each logged request of the model, file by file (in no promised order)."""
        fs, paths = self._files()
        for path in paths:
            try:
                with fs.open(path, "rb") as handle:
                    yield from self._parse(handle)
            except OSError as exc:
                raise OutsideSystemError("log store", f"reading {path} failed: {exc}") from exc

    def _files(self) -> tuple[object, list[str]]:
        import fsspec

        local = "://" not in self.uri
        if local and not Path(self.uri).is_dir():
            raise InvalidInput(f"--logs {self.uri}: no such folder; pass serving's MLPIN_LOG_DIR or MLPIN_LOG_URI")
        try:
            fs, root = fsspec.core.url_to_fs(str(Path(self.uri).resolve()) if local else self.uri)
            paths = sorted(fs.glob(f"{root.rstrip('/')}/{PREFIX}*.jsonl"))
        except Exception as exc:  # fsspec backends raise their own types
            raise OutsideSystemError("log store", f"listing {self.uri} failed: {exc}") from exc
        if not paths:
            raise InvalidInput(f"--logs {self.uri}: no prediction log files ({PREFIX}*.jsonl) there")
        return fs, paths

    def _parse(self, lines) -> Iterator[LoggedRequest]:
        for line in lines:
            try:
                record = json.loads(line)
                if record.get("model") != self.model:
                    continue
                yield LoggedRequest(request_id=str(record["request_id"]), time=_utc(record["timestamp"]),
                                    version=int(record["version"]))
            except (ValueError, KeyError, TypeError, AttributeError):
                self.skipped += 1  # e.g. a line cut short by a crash


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
