"""`python -m serving` as a real process tells its story on stderr: start (no secrets),
listening, each swap and stall, webhook and admin calls, shutdown; nothing for a pass
that changes nothing; text or JSON lines; uvicorn's access log only when asked for."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from pipelines.core.signing import sign
from tests.helpers import pin, wait_until
from tests.serving.helpers import MODEL, SECRET, TOKEN, Trained, parse_text, process_env, serving_process, stop

GITHUB_TOKEN = "ghp_never-in-the-log"


def test_the_text_log_tells_a_promotion_a_stall_and_a_revert(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    env = process_env(trained, tmp_path, MLPIN_WEBHOOK_SECRET=SECRET, MLPIN_ADMIN_TOKEN=TOKEN,
                      MLPIN_GITHUB_TOKEN=GITHUB_TOKEN, MLPIN_POLL_INTERVAL_S="300")
    log_path = tmp_path / "serving.log"
    with log_path.open("wb") as output, serving_process(env, output=output) as (process, url), \
            httpx.Client(base_url=url, timeout=30) as client:
        _promote_stall_and_revert(client, trained)
        stop(process)
    text = log_path.read_text()
    lines = [parse_text(line) for line in text.splitlines()]
    assert all(list(line)[:3] == ["ts", "level", "event"] for line in lines)
    assert SECRET not in text and TOKEN not in text and GITHUB_TOKEN not in text
    story = [_told(line) for line in lines if line["event"] != "log"]
    v1, v2 = (trained.entries[label]["artifact_sha256"][:12] for label in ("v1", "v2"))
    # the first pass runs while uvicorn binds: `listening` may come before, between or after its lines
    first = [("listening", url), ("pin", "read"), ("swap", None, "1", v1)]
    assert story[0] == ("start",) and sorted(story[1:4]) == first, text
    assert story[4:] == [
        ("webhook", "true", "202"), ("pin", "read"), ("swap", "1", "2", v2),          # the promotion
        ("webhook", "false", "401"), ("webhook", "false", "200"),                     # a forged call, a ping
        ("reconcile_requested",), ("pin", "read"), ("stalled", "DigestMismatch", "true", "2"),
        ("reconcile_requested",),                                                     # nothing changed: quiet
        ("reconcile_requested",), ("pin", "read"), ("swap", "2", "1", v1), ("recovered", "DigestMismatch"),
        ("shutdown", "SIGTERM"),
    ], text
    (start,) = [line for line in lines if line["event"] == "start"]
    assert (start["webhook_secret"], start["admin_token"], start["github_token"]) == ("set", "set", "set")
    assert (start["pin_uri"], start["log_format"], start["access_log"]) == (str(trained.root), "text", "false")
    assert not [line for line in lines if line["event"] == "access" or line.get("logger", "").startswith("uvicorn")]


def _promote_stall_and_revert(client: httpx.Client, trained: Trained) -> None:
    pin(trained.root, **{MODEL: trained.entries["v2"]})
    push = json.dumps({"ref": "refs/heads/main"}).encode()
    signed = {"x-github-event": "push", "x-hub-signature-256": sign(SECRET, push)}
    assert client.post("/webhook", content=push, headers=signed).status_code == 202
    wait_until(lambda: _live(client) == 2, timeout=20)
    forged = {"x-github-event": "push", "x-hub-signature-256": "sha256=" + "0" * 64}
    assert client.post("/webhook", content=push, headers=forged).status_code == 401
    ping = {"x-github-event": "ping", "x-hub-signature-256": sign(SECRET, b"{}")}
    assert client.post("/webhook", content=b"{}", headers=ping).status_code == 200
    admin = {"authorization": f"Bearer {TOKEN}"}
    pin(trained.root, **{MODEL: {**trained.entries["v1"], "artifact_sha256": "f" * 64}})  # a revert gone wrong
    for _ in range(2):  # the second pass finds the same pin: a terminal failure is not tried again
        assert client.post("/reconcile", headers=admin).status_code == 200
    assert _live(client) == 2
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    assert client.post("/reconcile", headers=admin).status_code == 200
    assert _live(client) == 1


def _live(client: httpx.Client) -> int | None:
    return next(m for m in client.get("/status").json()["models"] if m["model"] == MODEL)["live_version"]


def _told(line: dict) -> tuple:
    """What an event line tells, in short: the fields the story above checks."""
    keys = {"pin": ("outcome",), "swap": ("from", "to", "sha256"), "listening": ("address",),
            "webhook": ("accepted", "status"), "stalled": ("reason", "terminal", "serving"),
            "recovered": ("after",), "shutdown": ("signal",)}
    return (line["event"], *(line.get(key) for key in keys.get(line["event"], ())))


def test_the_json_log_parses_line_by_line_and_has_access_lines_when_asked(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    env = process_env(trained, tmp_path, MLPIN_LOG_FORMAT="json", MLPIN_ACCESS_LOG="true", MLPIN_LOG_LEVEL="debug")
    log_path = tmp_path / "serving.log"
    with log_path.open("wb") as output, serving_process(env, output=output) as (process, url):
        assert httpx.get(f"{url}/healthz").status_code == 200
        stop(process)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    events = [line["event"] for line in lines]
    for name in ("start", "listening", "pin", "swap", "pass", "access", "shutdown"):
        assert name in events, (name, events)
    (swap,) = [line for line in lines if line["event"] == "swap"]
    assert (swap["model"], swap["to"], swap["sha256"]) == (MODEL, 1, trained.entries["v1"]["artifact_sha256"][:12])
    assert "from" not in swap  # nothing was live before
    assert {"method": "GET", "path": "/healthz", "status": 200}.items() <= \
        next(line for line in lines if line["event"] == "access" and line["path"] == "/healthz").items()
    assert next(line for line in lines if line["event"] == "pass")["level"] == "debug"
