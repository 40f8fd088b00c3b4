"""Asking serving replicas what they serve: `GET <replica>/status`, all replicas at once.

Which replicas: `--url` arguments, else `MLPIN_SERVING_URLS` (base URLs, comma and/or
whitespace separated), else the replicas `mlpin deploy` notifies (`MLPIN_DEPLOY_WEBHOOK_URL`,
each with its trailing `/webhook` dropped). Reading only: nothing here decides or writes.
A replica that cannot be read is a reading with its error, never an exception, so one
down replica does not hide what the others say.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError

from pipelines.adapters.webhook import URL_VARIABLE, shown, webhook_urls
from pipelines.core.convergence import ReplicaReading
from pipelines.core.errors import InvalidInput, Problem

URLS_VARIABLE = "MLPIN_SERVING_URLS"
STATUS_ROUTE = "/status"
TIMEOUT_S = 5


def replica_urls(given: list[str], environ: Mapping[str, str]) -> list[str]:
    """The base URLs of the replicas to ask, from `given`, MLPIN_SERVING_URLS or the deploy webhook list."""
    listed = given or [u for u in re.split(r"[,\s]+", environ.get(URLS_VARIABLE, "")) if u]
    if not listed:
        listed = [re.sub(r"/webhook/?$", "", u) for u in webhook_urls(environ)]
    bad = [u for u in listed if not re.match(r"^https?://[^/?#]+", u, flags=re.IGNORECASE)]
    if bad:
        raise InvalidInput("replica URLs must be http(s) base URLs such as http://serving-0:8080",
                           problems=[Problem("--url", f"{shown(u)!r} is not one") for u in bad])
    if not listed:
        raise InvalidInput(f"no replicas to ask: pass --url (once per replica), or set {URLS_VARIABLE} "
                           f"or {URL_VARIABLE}")
    return list(dict.fromkeys(u.rstrip("/") for u in listed))


def read_replicas(urls: list[str], *, timeout_s: float = TIMEOUT_S) -> list[ReplicaReading]:
    """Every replica's status, asked concurrently, in the order of `urls` (shown without secrets)."""
    with ThreadPoolExecutor(max_workers=len(urls) or 1, thread_name_prefix="mlpin-replicas") as pool:
        return list(pool.map(lambda url: read_replica(url, timeout_s=timeout_s), urls))


def read_replica(url: str, *, timeout_s: float = TIMEOUT_S) -> ReplicaReading:
    """One replica's `/status` parsed, or the reading says why it could not be."""
    name = shown(url)
    try:
        with urllib.request.urlopen(url + STATUS_ROUTE, timeout=timeout_s) as response:
            body = json.loads(response.read())
        return ReplicaReading(url=name, pin=body["pin"], models=body["models"])
    except urllib.error.HTTPError as exc:
        return ReplicaReading(url=name, error=f"HTTP {exc.code} from {STATUS_ROUTE}")
    except (urllib.error.URLError, OSError) as exc:
        return ReplicaReading(url=name, error=str(getattr(exc, "reason", exc)))
    except (ValueError, KeyError, TypeError, ValidationError):  # JSON errors are ValueErrors
        return ReplicaReading(url=name, error=f"{STATUS_ROUTE} did not answer a serving status")
