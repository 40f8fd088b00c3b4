"""Serving's log format (key=value text, JSON lines), the settings its `start` line shows,
the one-time setup that routes uvicorn through it, and what webhook and admin calls log."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pipelines.core.signing import sign
from serving.logs import JsonFormatter, TextFormatter, configure, settings_fields, text_value
from serving.settings import load_settings
from tests.serving.helpers import SECRET, Running, parse_text

T0 = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("wine_logreg", "wine_logreg"),
        ("two words", '"two words"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a=b", '"a=b"'),
        ("", '""'),
        ("line\nbreak", '"line\\nbreak"'),
        ("C:\\path", '"C:\\\\path"'),
        ("3f2b8d…", "3f2b8d…"),
        (None, "null"),
        (True, "true"),
        (2, "2"),
        (0.5, "0.5"),
        (T0, "2026-01-01T12:00:00.123000Z"),
    ],
    ids=["bare", "space", "quotes", "equals", "empty", "newline", "backslash", "unicode", "none", "bool", "int",
         "float", "datetime"],
)
def test_text_values_are_bare_unless_a_reader_could_misparse_them(value: object, shown: str) -> None:
    assert text_value(value) == shown


def _record(name: str = "mlpin.serving", *, level: int = logging.INFO, msg: str = "%s", args: tuple = ("swap",),
            exc_info=None, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)
    record.created = T0.timestamp()
    record.__dict__.update(extra)
    return record


SWAP = {"event": "swap", "fields": {"model": "wine_logreg", "from": 1, "to": 2, "sha256": "3f2b8d7cee6b"}}
STALLED = {"event": "stalled", "fields": {"model": "wine_logreg", "reason": "RegistryUnreachable", "terminal": False,
                                          "next_attempt": T0, "message": "mlflow: connection refused"}}


def test_an_event_is_one_text_line_of_pairs_in_a_fixed_order() -> None:
    assert TextFormatter().format(_record(**SWAP)) == (
        "ts=2026-01-01T12:00:00.123Z level=info event=swap model=wine_logreg from=1 to=2 sha256=3f2b8d7cee6b"
    )
    assert TextFormatter().format(_record(level=logging.WARNING, **STALLED)) == (
        "ts=2026-01-01T12:00:00.123Z level=warning event=stalled model=wine_logreg reason=RegistryUnreachable "
        'terminal=false next_attempt=2026-01-01T12:00:00.123000Z message="mlflow: connection refused"'
    )


def test_an_event_is_one_json_object_with_native_types() -> None:
    assert json.loads(JsonFormatter().format(_record(**SWAP))) == {
        "ts": "2026-01-01T12:00:00.123Z", "level": "info", "event": "swap", "model": "wine_logreg", "from": 1, "to": 2,
        "sha256": "3f2b8d7cee6b",
    }
    stalled = json.loads(JsonFormatter().format(_record(level=logging.WARNING, **STALLED)))
    assert (stalled["terminal"], stalled["next_attempt"]) == (False, "2026-01-01T12:00:00.123000Z")


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_a_traceback_stays_on_the_events_one_line(formatter: logging.Formatter) -> None:
    try:
        raise KeyError("a bug")
    except KeyError:
        record = _record(level=logging.ERROR, exc_info=sys.exc_info(), event="internal_error", fields={"ref": "1a2b"})
    line = formatter.format(record)
    fields = json.loads(line) if isinstance(formatter, JsonFormatter) else parse_text(line)
    assert "\n" not in line and (fields["event"], fields["ref"]) == ("internal_error", "1a2b")
    assert fields["exc"].startswith("Traceback") and fields["exc"].endswith("KeyError: 'a bug'")


def test_other_loggers_lines_and_uvicorns_access_lines_take_the_same_shape() -> None:
    other = _record("uvicorn.error", level=logging.WARNING, msg="Invalid HTTP request received.", args=())
    access = _record("uvicorn.access", msg='%s - "%s %s HTTP/%s" %d',
                     args=("127.0.0.1:5000", "POST", "/predict/wine_logreg", "1.1", 200))
    assert TextFormatter().format(other) == (
        'ts=2026-01-01T12:00:00.123Z level=warning event=log logger=uvicorn.error msg="Invalid HTTP request received."'
    )
    assert json.loads(JsonFormatter().format(access)) == {
        "ts": "2026-01-01T12:00:00.123Z", "level": "info", "event": "access", "client": "127.0.0.1:5000",
        "method": "POST", "path": "/predict/wine_logreg", "http": "1.1", "status": 200,
    }


def test_the_start_line_shows_secrets_as_set_or_unset_and_urls_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://user:pw@mlflow.example.invalid")
    settings = load_settings(pin_uri="https://x-access-token:ghs_secret@git.example.invalid/o/r.git",
                             webhook_secret="hook-secret", github_token="ghp_secret",
                             log_uri="https://u:log-secret@logs.example.invalid/p")
    shown = settings_fields(settings)
    assert (shown["webhook_secret"], shown["github_token"], shown["admin_token"]) == ("set", "set", "unset")
    assert shown["pin_uri"] == "https://git.example.invalid/o/r.git"
    assert shown["log_uri"] == "https://logs.example.invalid/p"
    assert shown["mlflow_tracking_uri"] == "https://mlflow.example.invalid"
    assert not [k for k in ("hook-secret", "ghs_secret", "ghp_secret", "log-secret", ":pw") if k in json.dumps(shown)]
    assert set(type(settings).model_fields) <= set(shown)


@pytest.fixture
def saved_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put back what `configure` changes process-wide: handlers, levels, propagation, warnings capture."""
    monkeypatch.setenv("MLFLOW_CONFIGURE_LOGGING", "false")  # configure sets it when unset; this puts it back
    names = ["", "mlpin", "uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access"]
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
             for n in names}
    yield
    logging.captureWarnings(False)
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


@pytest.mark.parametrize("access_log", [False, True], ids=["access-off", "access-on"])
def test_configure_routes_uvicorn_through_the_format_and_quiets_its_chatter(
    saved_logging: None, access_log: bool
) -> None:
    stream = io.StringIO()
    configure(load_settings(log_format="json", access_log=access_log), stream=stream)
    logging.getLogger("uvicorn.error").info("Started server process [1]")  # replaced by `start` and `listening`
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/healthz", "1.1", 200)
    logging.getLogger("mlpin.serving").debug("a pass that changed nothing")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["event"], line.get("msg") or line.get("path")) for line in lines] == [
        ("log", "Invalid HTTP request received."), *([("access", "/healthz")] if access_log else [])
    ]


def test_webhook_and_admin_calls_log_whether_they_were_accepted_and_why(
    server_on_v1: Running, caplog: pytest.LogCaptureFixture
) -> None:
    client = server_on_v1.client
    elsewhere = b'{"ref": "refs/heads/feature"}'
    with caplog.at_level(logging.INFO, logger="mlpin.serving"):
        client.post("/webhook", content=elsewhere, headers={"x-hub-signature-256": sign(SECRET, elsewhere),
                                                            "x-github-delivery": "72d3162e-cc78-11e3-81ab"})
        client.post("/webhook", content=b"{}", headers={"x-github-event": "issues",
                                                         "x-hub-signature-256": sign(SECRET, b"{}")})
        client.post("/webhook", content=b"{}", headers={})
        client.post("/reconcile", headers={"authorization": "Bearer wrong"})
    calls = [r for r in caplog.records if getattr(r, "event", None) in ("webhook", "reconcile_requested")]
    told = [(r.event, r.levelname, r.fields["status"], r.fields["why"]) for r in calls]
    assert told == [
        ("webhook", "INFO", 200, "push to refs/heads/feature, not the deployed branch"),
        ("webhook", "INFO", 200, "issues event: only pushes change the pin"),
        ("webhook", "WARNING", 401, "missing or invalid X-Hub-Signature-256"),
        ("reconcile_requested", "WARNING", 401, "missing or invalid bearer token"),
    ]
    assert calls[0].fields["delivery"] == "72d3162e-cc78-11e3-81ab" and calls[0].fields["client"] == "127.0.0.1"
    assert "Bearer wrong" not in caplog.text
