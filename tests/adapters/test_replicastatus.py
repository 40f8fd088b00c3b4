"""Which replicas `mlpin replicas` asks (flags, MLPIN_SERVING_URLS, else deploy's webhook
list), and what a replica that is down or is not serving reads as."""

from __future__ import annotations

import pytest

from pipelines.adapters.replicastatus import read_replicas, replica_urls
from pipelines.core.errors import InvalidInput
from tests.helpers import RefusingServer, free_port


@pytest.mark.parametrize(("given", "environ", "expected"), [
    (["http://a:8080/", "http://a:8080"], {"MLPIN_SERVING_URLS": "http://ignored"}, ["http://a:8080"]),
    ([], {"MLPIN_SERVING_URLS": "http://a:1, http://b:1\nhttp://c:1"}, ["http://a:1", "http://b:1", "http://c:1"]),
    ([], {"MLPIN_DEPLOY_WEBHOOK_URL": "http://a:1/webhook http://b:1/serving/webhook"},
     ["http://a:1", "http://b:1/serving"]),
], ids=["flags-win-and-dedupe", "serving-urls", "from-deploy-webhooks"])
def test_which_replicas_are_asked(given: list[str], environ: dict[str, str], expected: list[str]) -> None:
    assert replica_urls(given, environ) == expected


@pytest.mark.parametrize(("given", "message"), [
    ([], "no replicas to ask: pass --url"),
    (["serving-0:8080"], r"replica URLs must be http\(s\) base URLs"),
    (["http://ops:hunter2@serving-0:8080"], r"replica URLs must be http\(s\) base URLs"),
    (["http://serving-0:port"], r"replica URLs must be http\(s\) base URLs"),
], ids=["none", "not-a-url", "user-info", "bad-port"])
def test_bad_or_missing_replicas_say_what_to_pass(given: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        replica_urls(given, {})
    assert "hunter2" not in "\n".join(caught.value.lines())


def test_a_down_replica_and_a_non_serving_one_are_readings_with_their_error() -> None:
    with RefusingServer(status=404) as other:
        down = f"http://127.0.0.1:{free_port()}"
        readings = read_replicas([down, other.url], timeout_s=5)
    assert [(r.url, r.pin, r.error) for r in readings] == [
        (down, None, "[Errno 111] Connection refused"), (other.url, None, "HTTP 404 from /status"),
    ]
