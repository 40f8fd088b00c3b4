"""`mlpin deploy`'s call to serving, fanned out to every replica: each call signed, each
replica's result reported on its own line without secrets, one dead replica not fatal,
a malformed list refused with every bad entry named."""

from __future__ import annotations

import pytest

from pipelines.adapters.webhook import notify, shown, webhook_urls
from pipelines.core.errors import InvalidInput
from tests.helpers import WebhookReceiver, free_port

EVENT = {"commit": "c" * 40, "models": {"wine_logreg": 2}, "pr": "7"}


def test_every_replica_is_called_and_reported_on_its_own_line() -> None:
    receivers = [WebhookReceiver("s3cret") for _ in range(2)]
    dead = f"http://127.0.0.1:{free_port()}/webhook"
    try:
        listed = f"{receivers[0].url}, {dead}\n {receivers[1].url}?token=never-shown"
        calls = notify({"MLPIN_DEPLOY_WEBHOOK_URL": listed, "MLPIN_WEBHOOK_SECRET": "s3cret"}, event=EVENT)
    finally:
        for receiver in receivers:
            receiver.server.shutdown()
    assert [(c.url, c.result.split(" (")[0]) for c in calls] == [
        (receivers[0].url, "sent: HTTP 202"),
        (dead, "failed: [Errno 111] Connection refused"),
        (f"{receivers[1].url}?…", "sent: HTTP 202"),
    ]
    assert all(r.calls == [(True, EVENT)] for r in receivers), "each replica got the signed event once"
    assert "never-shown" not in repr(calls)


def test_without_a_secret_nothing_is_sent_and_each_replica_says_why() -> None:
    calls = notify({"MLPIN_DEPLOY_WEBHOOK_URL": "http://a:1/webhook,http://b:1/webhook"}, event=EVENT)
    assert [c.url for c in calls] == ["http://a:1/webhook", "http://b:1/webhook"]
    assert all("MLPIN_WEBHOOK_SECRET is not" in c.result for c in calls)


def test_unset_means_one_line_and_no_call() -> None:
    (call,) = notify({}, event=EVENT)
    assert call.url is None and call.result.startswith("not sent: MLPIN_DEPLOY_WEBHOOK_URL is not set")


def test_a_malformed_list_names_every_bad_entry() -> None:
    with pytest.raises(InvalidInput) as caught:
        webhook_urls({"MLPIN_DEPLOY_WEBHOOK_URL": "http://ok:8080/webhook ftp://x/webhook serving-1:8080"})
    lines = caught.value.lines()
    assert "one per serving replica" in lines[0]
    assert [p.message for p in caught.value.all_problems()] == [
        "'ftp://x/webhook' is not an http(s) URL with a host", "'serving-1:8080' is not an http(s) URL with a host",
    ]


@pytest.mark.parametrize(("url", "expected"), [
    ("https://user:pw@host:8443/hook?sig=1#f", "https://host:8443/hook?…"),
    ("http://[::1]:80/webhook", "http://[::1]:80/webhook"),
    ("http://host:notaport/x", "<unparsable URL>"),
], ids=["credentials-and-query", "ipv6", "bad-port"])
def test_urls_are_shown_without_secrets(url: str, expected: str) -> None:
    assert shown(url) == expected


@pytest.mark.parametrize(("url", "why"), [
    ("http://deployer:hunter2@serving-0:8080/webhook", "holds a user or password"),
    ("http://serving-0:http/webhook", "is not a well-formed URL"),
    ("http://serving-0:99999/webhook", "is not a well-formed URL"),
    ("http://[::1/webhook", "is not a well-formed URL"),
    ("http://serving 0:8080/webhook", "is not an http(s) URL with a host"),
    ("http://serv\x01ing:8080/webhook", "has a malformed host or port"),
], ids=["user-info", "port-not-a-number", "port-out-of-range", "unclosed-ipv6", "space-split", "control-char"])
def test_urls_that_cannot_be_called_are_refused_before_anything_is_sent(url: str, why: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        webhook_urls({"MLPIN_DEPLOY_WEBHOOK_URL": url})
    problems = [p.message for p in caught.value.all_problems()]
    assert any(why in p for p in problems), problems
    assert "hunter2" not in "\n".join(caught.value.lines())


def test_a_replica_answering_garbage_is_its_line_not_a_crash() -> None:
    """http.client's own errors (a bad status line) are not OSErrors: caught too, no URL in the line."""
    import socket
    import threading

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def answer_garbage() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")

        threading.Thread(target=answer_garbage, daemon=True).start()
        url = f"http://127.0.0.1:{server.getsockname()[1]}/webhook?token=never-shown"
        (call,) = notify({"MLPIN_DEPLOY_WEBHOOK_URL": url, "MLPIN_WEBHOOK_SECRET": "s"}, event=EVENT)
    assert call.result.startswith("failed: BadStatusLine") and "never-shown" not in repr(call)
