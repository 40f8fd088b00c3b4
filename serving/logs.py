"""Serving's own log: one line per meaningful event, as key=value text or one JSON object.

`configure(settings)` is called once by `python -m serving` at process start, never at
import and never by `create_app`, so tests and apps embedding serving keep their logging.
`event("swap", model=..., ...)` writes one event under a stable name; the fields are what
the line shows. Lines of other loggers (uvicorn's, MLflow's, Python warnings) come out in
the same format as `event=log`, uvicorn's access lines as `event=access`.

Nothing here decides what is worth logging, and no caller passes a request body or a
secret: `settings_fields` shows a secret only as set or unset, URLs without credentials.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, get_args

from pydantic import SecretStr

from pipelines.adapters.pinreader import redacted

if TYPE_CHECKING:
    from serving.settings import ServingSettings

LOGGER = "mlpin.serving"
log = logging.getLogger(LOGGER)
ACCESS_FIELDS = ("client", "method", "path", "http", "status")  # uvicorn.access's record arguments, in order


def event(name: str, *, level: int = logging.INFO, exc_info: Any = None, **fields: object) -> None:
    """Log one event: `event=<name>` and its fields, in the configured format; None-valued fields are left out."""
    if log.isEnabledFor(level):
        shown = {k: v for k, v in fields.items() if v is not None}
        line = " ".join([name, *(f"{k}={text_value(v)}" for k, v in shown.items())])
        log.log(level, "%s", line, exc_info=exc_info, extra={"event": name, "fields": shown})


def short(sha256: str) -> str:
    """An artifact digest as the log shows it: its first 12 hex digits."""
    return sha256[:12]


def settings_fields(settings: ServingSettings) -> dict[str, object]:
    """The settings as the `start` line shows them: secrets as set/unset, URLs without credentials."""
    shown: dict[str, object] = {}
    for name, value in settings:
        if _is_secret(type(settings).model_fields[name].annotation) or isinstance(value, SecretStr):
            shown[name] = "unset" if value is None else "set"
        elif isinstance(value, str):
            shown[name] = redacted(value)
        else:
            shown[name] = str(value) if hasattr(value, "__fspath__") else value
    tracking = os.environ.get("MLFLOW_TRACKING_URI")
    if tracking:
        shown["mlflow_tracking_uri"] = redacted(tracking)
    return shown


def _is_secret(annotation: object) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def configure(settings: ServingSettings, *, stream: Any = None) -> None:
    """Route every logger through one handler on stderr in the configured format (process start only).

    MLPIN_LOG_LEVEL is the level of serving's own events; other libraries' lines, uvicorn's
    included, show from warning up (its startup chatter is replaced by `start`, `listening`,
    `shutdown`). uvicorn's access lines show at info when MLPIN_ACCESS_LOG is true.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    level = logging.getLevelName(settings.log_level.upper())
    others = max(level, logging.WARNING)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(others)
    logging.getLogger("mlpin").setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).setLevel(others)
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.setLevel(logging.INFO if settings.access_log else logging.CRITICAL + 1)
    access.propagate = settings.access_log
    logging.captureWarnings(True)  # warnings.warn (scikit-learn's, MLflow's) as `event=log logger=py.warnings`
    # MLflow installs its own stderr handler and format when imported (later, in build_service) unless told not to.
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")


def record_fields(record: logging.LogRecord, *, exception: str | None = None) -> dict[str, object]:
    """A record as ordered fields: ts, level, event, then the event's own (or logger and msg)."""
    stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fields: dict[str, object] = {"ts": stamp, "level": record.levelname.lower()}
    name = getattr(record, "event", None)
    if name:
        fields["event"] = name
        fields.update({k: v for k, v in getattr(record, "fields", {}).items() if k not in fields})
    elif record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == len(ACCESS_FIELDS):
        fields.update({"event": "access", **dict(zip(ACCESS_FIELDS, record.args, strict=True))})
    else:
        fields.update({"event": "log", "logger": record.name, "msg": record.getMessage()})
    if exception:
        fields["exc"] = exception
    return fields


class TextFormatter(logging.Formatter):
    """`ts=… level=info event=swap model=wine_logreg from=1 to=2 sha256=…`: one line, values quoted when needed."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record, exception=_exception(self, record))
        return " ".join(f"{key}={text_value(value)}" for key, value in fields.items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, the same fields as the text format."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record, exception=_exception(self, record))
        return json.dumps(fields, ensure_ascii=False, default=_plain)


def text_value(value: object) -> str:
    """A value as key=value text shows it: bare when unambiguous, else a JSON string literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = _plain(value)
    if text and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    return json.dumps(text, ensure_ascii=False)


def _plain(value: object) -> str:
    """A value JSON has no type for, as text: datetimes in ISO 8601 with Z, anything else by str()."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    return formatter.formatException(record.exc_info) if record.exc_info else None
