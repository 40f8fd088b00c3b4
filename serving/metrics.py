"""Prometheus metrics of one app: requests and latency per model and version, the live
versions, swaps, reconcile failures by reason, and accepted unseen category values.

Each app has its own registry (several apps may share a process in tests). The live
version gauge is read from the slots at scrape time, so it can never disagree with them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from pipelines.core.sync import Reason
from serving.slot import LiveModel, Slots

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The app's counters and histograms, and the exposition of all of them."""

    def __init__(self, slots: Slots) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("mlpin_requests", "Prediction requests by model, version, endpoint and status.",
                                ["model", "version", "endpoint", "status"], registry=self.registry)
        self.latency = Histogram("mlpin_request_seconds", "Prediction latency, from parsed body to logged answer.",
                                 ["model", "version"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.swaps = Counter("mlpin_swaps", "Versions swapped in, by model.", ["model"], registry=self.registry)
        self.failures = Counter(
            "mlpin_reconcile_failures",
            "Failed reconcile steps by model ('' for the pin) and reason.",
            ["model", "reason"],
            registry=self.registry,
        )
        self.unseen = Counter(
            "mlpin_unseen_values",
            "Category values outside the contract's allowed set, accepted because it allows unseen values.",
            ["model", "version", "column"],
            registry=self.registry,
        )
        self.registry.register(_LiveVersions(slots))

    @contextmanager
    def timed(self, live: LiveModel, endpoint: str) -> Iterator[None]:
        """Count one request on `live` and, when it succeeds, its latency."""
        labels = {"model": live.name, "version": str(live.version), "endpoint": endpoint}
        started = time.perf_counter()
        try:
            yield
        except HTTPException as exc:
            self.requests.labels(**labels, status=str(exc.status_code)).inc()
            raise
        except Exception:
            self.requests.labels(**labels, status="500").inc()
            raise
        self.latency.labels(model=live.name, version=str(live.version)).observe(time.perf_counter() - started)
        self.requests.labels(**labels, status="200").inc()

    def unseen_values(self, live: LiveModel, found: dict[str, list]) -> None:
        """Count the accepted values of each column that lie outside its allowed set."""
        for column, values in found.items():
            self.unseen.labels(model=live.name, version=str(live.version), column=column).inc(len(values))

    def swapped(self, model: str, version: int) -> None:
        """A reconciler observer: a new version went live."""
        self.swaps.labels(model=model).inc()

    def failed(self, model: str, reason: Reason) -> None:
        """A reconciler observer: a step failed with `reason`."""
        self.failures.labels(model=model, reason=reason).inc()

    def exposition(self) -> bytes:
        """Everything in Prometheus' text format."""
        return generate_latest(self.registry)


class _LiveVersions:
    """`mlpin_live_version_info`: 1 per live model, labelled with its version and digest."""

    def __init__(self, slots: Slots) -> None:
        self.slots = slots

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "mlpin_live_version_info",
            "The version each model serves now.",
            labels=["model", "version", "artifact_sha256"],
        )
        for live in self.slots.all():
            family.add_metric([live.name, str(live.version), live.artifact_sha256], 1)
        yield family
