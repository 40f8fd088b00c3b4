"""Asking serving replicas what they serve: `GET <replica>/status`, all replicas at once.

Which replicas: `--url` arguments, else `MLPIN_SERVING_URLS` (base URLs, comma and/or
whitespace separated), else the replicas `mlpin deploy` notifies (`MLPIN_DEPLOY_WEBHOOK_URL`,
each with its trailing `/webhook` dropped). Reading only: nothing here decides or writes.
A replica that cannot be read is a reading with its error, never an exception, so one
down replica does not hide what the others say. A host running `--workers N` answers from
whichever worker accepts: it is asked until each worker has answered (bounded by the
timeout), and judged by its slowest.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError

from pipelines.adapters.webhook import URL_VARIABLE, failure_reason, shown, url_problem, webhook_urls
from pipelines.core.convergence import ReplicaReading
from pipelines.core.errors import InvalidInput, Problem

URLS_VARIABLE = "MLPIN_SERVING_URLS"
STATUS_ROUTE = "/status"
TIMEOUT_S = 5
WORKER_RETRY_S = 0.02  # between asks while a worker of the host has not answered yet


def replica_urls(given: list[str], environ: Mapping[str, str]) -> list[str]:
    """The base URLs of the replicas to ask, from `given`, MLPIN_SERVING_URLS or the deploy webhook list."""
    listed = given or [u for u in re.split(r"[,\s]+", environ.get(URLS_VARIABLE, "")) if u]
    if not listed:
        listed = [re.sub(r"/webhook/?$", "", u) for u in webhook_urls(environ)]
    bad = [(u, why) for u in listed if (why := url_problem(u))]
    if bad:
        raise InvalidInput("replica URLs must be http(s) base URLs such as http://serving-0:8080",
                           problems=[Problem("--url", f"{shown(u)!r} {why}") for u, why in bad])
    if not listed:
        raise InvalidInput(f"no replicas to ask: pass --url (once per replica), or set {URLS_VARIABLE} "
                           f"or {URL_VARIABLE}")
    return list(dict.fromkeys(u.rstrip("/") for u in listed))


def read_replicas(urls: list[str], *, timeout_s: float = TIMEOUT_S) -> list[ReplicaReading]:
    """Every replica's status, asked concurrently, in the order of `urls` (shown without secrets)."""
    with ThreadPoolExecutor(max_workers=len(urls) or 1, thread_name_prefix="mlpin-replicas") as pool:
        return list(pool.map(lambda url: read_replica(url, timeout_s=timeout_s), urls))


def read_replica(url: str, *, timeout_s: float = TIMEOUT_S) -> ReplicaReading:
    """One replica's `/status`, asked again (a new connection each time) until every worker the host
    says it runs has answered or `timeout_s` is spent; or the reading says why it could not be read."""
    deadline = time.monotonic() + timeout_s
    first = _ask(url, timeout_s=timeout_s)
    seen = {first.worker: first}
    while len(seen) < first.workers and first.error is None:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        again = _ask(url, timeout_s=left)
        if again.error is None:
            seen.setdefault(again.worker, again)
        time.sleep(min(WORKER_RETRY_S, max(left, 0)))
    return first.model_copy(update={"others": [r for pid, r in seen.items() if pid != first.worker]})


def _ask(url: str, *, timeout_s: float) -> ReplicaReading:
    name = shown(url)
    try:
        with urllib.request.urlopen(url + STATUS_ROUTE, timeout=timeout_s) as response:
            body = json.loads(response.read())
        return ReplicaReading(url=name, pin=body["pin"], models=body["models"], worker=body.get("worker"),
                              workers=max(1, int(body.get("workers") or 1)))
    except urllib.error.HTTPError as exc:
        return ReplicaReading(url=name, error=f"HTTP {exc.code} from {STATUS_ROUTE}")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        return ReplicaReading(url=name, error=failure_reason(exc))
    except (ValueError, KeyError, TypeError, ValidationError):  # JSON errors are ValueErrors
        return ReplicaReading(url=name, error=f"{STATUS_ROUTE} did not answer a serving status")
