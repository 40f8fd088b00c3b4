"""One reconcile pass: read the pin, plan, and bring each model's slot to its pin.

Steps per model: fetch (registry lookup, download, sha256 check) -> load -> smoke test
-> swap. Any step may stop that model's pass; the slot then keeps its last good model
and the status says Stalled with the reason. Statuses are always written at the end of
a step, and one pass runs at a time. Scheduling lives in `serving.loop`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from pipelines.adapters.modelstore import ModelStore
from pipelines.adapters.pinreader import PinDocument, PinReader
from pipelines.adapters.yamlfile import parse_yaml, validate
from pipelines.core.errors import ArtifactMismatch, ConfigError, MlpinError, NotFound, OutsideSystemError
from pipelines.core.schemas import PinnedModel, ProductionPins
from pipelines.core.sync import ModelStatus, Observation, PinStatus, Reason, SyncAction, not_ready, observe, observe_pin, plan_sync, settled
from serving.loader import LoadFailed, SmokeTestFailed, load, smoke_test
from serving.slot import LiveModel, Slots

FAILURE_REASONS: list[tuple[type[BaseException], Reason]] = [
    (NotFound, "UnknownVersion"), (ArtifactMismatch, "DigestMismatch"), (LoadFailed, "LoadFailed"),
    (SmokeTestFailed, "SmokeTestFailed"), (OutsideSystemError, "RegistryUnreachable"),
]


class PinFailure(Exception):
    """The pin could not be read or parsed; no model changes this pass."""

    def __init__(self, reason: Reason, message: str, *, revision: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.revision = reason, message, revision


def utcnow() -> datetime:
    """The wall clock, in UTC (the reconciler's default clock)."""
    return datetime.now(UTC)


class Reconciler:
    """Owns the statuses; converges the slots to the pin, one pass at a time."""

    def __init__(self, *, reader: PinReader, source_name: str, store: ModelStore, slots: Slots, clock: Callable[[], datetime] = utcnow) -> None:
        self.reader, self.store, self.slots, self.clock = reader, store, slots, clock
        self.pin = PinStatus(source=source_name)
        self.statuses: dict[str, ModelStatus] = {}
        self.pinned: ProductionPins | None = None  # the last pin that parsed
        self.failures: list[Callable[[str, Reason], None]] = []  # observers, e.g. metrics
        self.swaps: list[Callable[[str, int], None]] = []
        self._pass = threading.Lock()

    def not_ready(self) -> list[str]:
        """Why this replica cannot answer yet: unread pin, or pinned models with nothing live."""
        return ["pin"] if self.pinned is None else not_ready(self.statuses.values())

    def reconcile(self) -> None:
        """One full pass; never raises for anything the pin, registry or model does."""
        with self._pass:
            try:
                document, pins = self._read_pin()
            except PinFailure as failure:
                self._pin_failed(failure)
                return
            self.pin = observe_pin(self.pin, condition="Ready", reason="Synced", message=f"read {document.path}", revision=document.revision, now=self.clock())
            self.pinned = pins
            for action in plan_sync(pins, self.slots.live()):
                self._apply(action, revision=document.revision)
            # a model unpinned before it ever went live has no slot to remove: drop its status too
            self.statuses = {k: v for k, v in self.statuses.items() if k in pins.models}

    def _read_pin(self) -> tuple[PinDocument, ProductionPins]:
        try:
            document = self.reader.read()
        except OutsideSystemError as exc:
            raise PinFailure("PinUnavailable", exc.message) from exc
        except Exception as exc:  # e.g. a connection error the reader did not translate
            raise PinFailure("PinUnavailable", f"reading the pin failed: {type(exc).__name__}: {exc}") from exc
        try:
            data = parse_yaml(document.text, document.path)
        except ConfigError as exc:
            raise PinFailure("InvalidYaml", _one_line(exc), revision=document.revision) from exc
        try:
            return document, validate(data, document.path, ProductionPins)
        except ConfigError as exc:
            raise PinFailure("SchemaViolation", _one_line(exc), revision=document.revision) from exc

    def _pin_failed(self, failure: PinFailure) -> None:
        now = self.clock()
        self.pin = observe_pin(self.pin, condition="Stalled", reason=failure.reason, message=failure.message, revision=failure.revision, now=now)
        for name, status in list(self.statuses.items()):
            kept = status.model_dump(exclude={"model", "last_transition_time"})
            seen = Observation.model_validate({**kept, "condition": "Stalled", "reason": failure.reason, "message": failure.message})
            self._record(name, seen, now=now)
        self._notify_failure("", failure.reason)

    def _apply(self, action: SyncAction, *, revision: str) -> None:
        if action.kind == "remove":
            self.slots.remove(action.model)
            self.statuses = {k: v for k, v in self.statuses.items() if k != action.model}
        elif action.kind == "load":
            self._load(action, revision=revision)
        else:
            self._record(action.model, settled(action, revision=revision))

    def _load(self, action: SyncAction, *, revision: str) -> None:
        pin = action.pin
        assert pin is not None
        base = {"desired_version": pin.version, "live_version": action.live.version if action.live else None, "pin_revision": revision}
        self._record(action.model, Observation(condition="Reconciling", reason="Progressing", message=f"loading v{pin.version}", **base))
        try:
            model = self._prepare(action.model, pin)
        except Exception as exc:  # any failure keeps the last good model; the reason says which step
            reason = failure_reason(exc)
            self._record(action.model, Observation(condition="Stalled", reason=reason, message=_message(exc), **base))
            self._notify_failure(action.model, reason)
            return
        self.slots.swap(model)
        self._record(action.model, Observation(condition="Ready", reason="Synced", message=f"serving v{pin.version}", **{**base, "live_version": pin.version}))
        for observer in self.swaps:
            observer(action.model, pin.version)

    def _prepare(self, name: str, pin: PinnedModel) -> LiveModel:
        """fetch (digest verified) -> load -> smoke test; raises from the step that failed."""
        fetched = self.store.fetch(name, pin.version, expected_sha256=pin.artifact_sha256)
        model = load(fetched.path, name=name, version=pin.version, artifact_sha256=pin.artifact_sha256, tags=fetched.tags, now=self.clock())
        smoke_test(model)
        return model

    def _record(self, model: str, seen: Observation, *, now: datetime | None = None) -> None:
        # Copy on write: HTTP handlers read `statuses` from other threads without a lock.
        status = observe(model, self.statuses.get(model), seen, now=now or self.clock())
        self.statuses = {**self.statuses, model: status}

    def _notify_failure(self, model: str, reason: Reason) -> None:
        for observer in self.failures:
            observer(model, reason)


def failure_reason(exc: BaseException) -> Reason:
    """The status reason for an exception raised while fetching, loading or smoke-testing."""
    return next((reason for kind, reason in FAILURE_REASONS if isinstance(exc, kind)), "RegistryUnreachable")


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, MlpinError) else str(exc)


def _one_line(exc: ConfigError) -> str:
    return "; ".join(line.strip(" -") for line in exc.lines())
