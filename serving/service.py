"""Wiring: the parts of one serving process, built from settings (never at import).

Routes reach these through `request.app.state.service`; tests may build a Service
with other parts (a file pin reader, another cache) and hand it to `create_app`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from pipelines.adapters.logsink import PredictionLog
from pipelines.adapters.modelstore import ModelStore
from pipelines.adapters.pinreader import FilePinReader, GitHubPinReader, GitPinReader, PinReader, redacted
from serving.batching import Batcher
from serving.collector import freeze_after_swap, long_lived_imports
from serving.deliveries import Deliveries
from serving.logs import event
from serving.loop import ReconcileLoop
from serving.metrics import Metrics
from serving.predicting import run_batch
from serving.reconciler import Reconciler
from serving.settings import ServingSettings
from serving.shipping import Shipper
from serving.slot import Slots
from serving.trigger import SharedTrigger


@dataclass
class Service:
    """Everything the routes and the lifespan need."""

    settings: ServingSettings
    slots: Slots
    reconciler: Reconciler
    loop: ReconcileLoop
    predictions: PredictionLog
    metrics: Metrics
    shipper: Shipper | None = None
    batchers: dict[str, Batcher] = field(default_factory=dict)
    deliveries: Deliveries = field(default_factory=Deliveries)

    def batcher(self, model: str) -> Batcher:
        """The batcher of `model`'s requests (made on first use; they hold no task when idle)."""
        if model not in self.batchers:
            self.batchers[model] = Batcher(partial(run_batch, self.predictions))
        return self.batchers[model]


MLFLOW_CLIENT_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


class LazyRegistry:
    """The MLflow registry, made on first use: a restart whose pinned versions are all in the
    verified cache never asks the registry, so it need not pay for importing MLflow (~2 s here)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._registry = None

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        """Tags of a registered version (see VersionSource)."""
        return self._made().version_tags(model, version)

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        """The version's folder downloaded under `dst` (see VersionSource)."""
        return self._made().download_version(model, version, dst)

    def _made(self):  # one reconcile pass at a time calls this: no lock needed
        if self._registry is None:
            with long_lived_imports():  # MLflow's import: no full collection walks it half done
                from pipelines.adapters.registry import Registry

                self._registry = Registry(self.root)
        return self._registry


def build_service(settings: ServingSettings) -> Service:
    """The real parts: the configured pin source, MLflow through the model store, the log folder."""
    # MLflow's client retries an unreachable server for minutes by default, and one pass
    # waiting that long holds back every other model's rollout: fail fast, retry next pass.
    for name, value in MLFLOW_CLIENT_LIMITS.items():
        os.environ.setdefault(name, value)
    slots = Slots()
    store = ModelStore(LazyRegistry(settings.registry_root.resolve()), settings.cache_dir)
    # the shortest wait between passes: a first retryable failure is tried again on the next poll
    retry_base_s = settings.poll_interval_s * (1 - settings.poll_jitter)
    reconciler = Reconciler(
        reader=pin_reader(settings),
        source_name=source_name(settings),
        store=store,
        slots=slots,
        retry_base_s=retry_base_s,
    )
    # several workers share one trigger file, so a webhook reaching one of them reaches all
    shared = SharedTrigger(settings.work_dir / "reconcile.trigger") if settings.workers > 1 else None
    loop = ReconcileLoop(reconciler, interval_s=settings.poll_interval_s, jitter=settings.poll_jitter, shared=shared)
    log = PredictionLog(Path(settings.log_dir), max_bytes=settings.log_max_bytes, max_age_s=settings.log_max_age_s)
    log.observers.append(log_state_changed)
    metrics = Metrics(slots)
    reconciler.swaps.append(metrics.swapped)
    reconciler.swaps.append(freeze_after_swap)
    reconciler.failures.append(metrics.failed)
    shipper = Shipper(log, settings.log_uri, interval_s=settings.log_ship_interval_s) if settings.log_uri else None
    return Service(
        settings=settings,
        slots=slots,
        reconciler=reconciler,
        loop=loop,
        predictions=log,
        metrics=metrics,
        shipper=shipper,
    )


def log_state_changed(failure: str | None) -> None:
    """`log_failed` when predictions stop being loggable (readiness says so too), `log_recovered` after."""
    if failure is None:
        event("log_recovered")
    else:
        event("log_failed", level=logging.WARNING, message=failure)


def pin_reader(settings: ServingSettings) -> PinReader:
    """The reader of the pin source the settings name."""
    if settings.pin_source == "file":
        return FilePinReader(Path(settings.pin_uri))
    if settings.pin_source == "github":
        token = settings.github_token.get_secret_value() if settings.github_token else None
        return GitHubPinReader(
            settings.pin_uri,
            branch=settings.branch,
            pin_path=settings.pin_path,
            token=token,
            base_url=settings.github_api_url,
        )
    return GitPinReader(
        settings.pin_uri, branch=settings.branch, pin_path=settings.pin_path, mirror_path=settings.work_dir / "pin.git"
    )


def source_name(settings: ServingSettings) -> str:
    """How /status and the page name the pin source, without any credentials in its URL."""
    if settings.pin_source == "file":
        return f"file {settings.pin_uri}"
    if settings.pin_source == "github":
        return f"github {settings.pin_uri}@{settings.branch}:{settings.pin_path}"
    return f"git {redacted(settings.pin_uri)} {settings.branch}:{settings.pin_path}"


async def service_of(request: Request) -> Service:
    """The Service of the app handling `request` (a FastAPI dependency). Async: FastAPI runs a
    plain function dependency on a worker thread, a hop per request for one attribute read."""
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(service_of)]
