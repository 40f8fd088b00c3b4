"""One reconcile pass: read the pin, plan, and bring each model's slot to its pin.

Steps (`serving.steps`): read the pin -> parse it; per model fetch -> load -> smoke test
-> swap. Any step may stop that model's pass with a failure that carries its reason;
the slot then keeps its last good model and the status says Stalled with the reason.
Whether a failed step runs again this pass is `pipelines.core.retry`'s decision: a
terminal failure waits for the pin to change, a retryable one backs off unless an
operator asked for the pass. Statuses are written at the end of every step, and one
pass runs at a time. Scheduling lives in `serving.loop`.

What changes is logged as it happens (`pin`, `swap`, `stalled`, `recovered`, `removed`);
a pass that changes nothing logs only its debug-level `pass` line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pipelines.adapters.modelstore import ModelStore
from pipelines.adapters.pinreader import PinReader
from pipelines.core.retry import PIN_READ, Failure, attempt_key, record_failure, should_attempt
from pipelines.core.schemas import ProductionPins
from pipelines.core.sync import (
    ModelStatus,
    Observation,
    PinStatus,
    Reason,
    SyncAction,
    not_ready,
    observe,
    observe_pin,
    plan_sync,
    settled,
)
from serving.failures import ReconcileFailure
from serving.logs import event, short
from serving.slot import Slots
from serving.steps import parse_pin, prepare, read_pin

PIN = ""  # the pin's own entry in `failed` and in the failure metric's model label


def utcnow() -> datetime:
    """The wall clock, in UTC (the reconciler's default clock)."""
    return datetime.now(UTC)


class Reconciler:
    """Owns the statuses; converges the slots to the pin, one pass at a time."""

    def __init__(self, *, reader: PinReader, source_name: str, store: ModelStore, slots: Slots,
                 clock: Callable[[], datetime] = utcnow, retry_base_s: float = 15.0) -> None:
        self.reader, self.store, self.slots, self.clock = reader, store, slots, clock
        self.retry_base_s = retry_base_s  # the first backoff of a retryable failure (see pipelines.core.retry)
        self.pin = PinStatus(source=source_name)
        self.statuses: dict[str, ModelStatus] = {}
        self.failed: dict[str, Failure] = {}  # the last failure per model ("" for the pin) until it succeeds
        self.pinned: ProductionPins | None = None  # the last pin that parsed
        self.failures: list[Callable[[str, Reason], None]] = []  # observers, e.g. metrics
        self.swaps: list[Callable[[str, int], None]] = []
        self._pass = threading.Lock()

    def not_ready(self) -> list[str]:
        """Why this replica cannot answer yet: unread pin, or pinned models with nothing live."""
        return ["pin"] if self.pinned is None else not_ready(self.statuses.values())

    def reconcile(self, *, manual: bool = False, retry_terminal: bool = False) -> None:
        """One full pass; never raises. `manual`: an operator asked, so backoffs are skipped.
        `retry_terminal`: an operator fixed what a terminal failure was about without changing
        the pin (e.g. restored a replaced artifact), so those are tried once more too."""
        with self._pass:
            if retry_terminal:
                self.failed = {k: v for k, v in self.failed.items() if not v.terminal}
            started = time.monotonic()
            read = self._read_pin(manual=manual)
            if read is not None:
                self._converge(*read, manual=manual)
            event("pass", level=logging.DEBUG, manual=manual, revision=self.pin.revision,
                  duration_ms=round(1000 * (time.monotonic() - started)))

    def _converge(self, pins: ProductionPins, revision: str, *, manual: bool) -> None:
        self.pinned = pins
        for action in plan_sync(pins, self.slots.live()):
            self._apply(action, revision=revision, manual=manual)
        # a model unpinned before it ever went live has no slot to remove: drop its status too
        for name in sorted(set(self.statuses) - set(pins.models)):
            event("removed", model=name)
        self.statuses = {k: v for k, v in self.statuses.items() if k in pins.models}
        self.failed = {k: v for k, v in self.failed.items() if k in pins.models}

    def _read_pin(self, *, manual: bool) -> tuple[ProductionPins, str] | None:
        """The parsed pin and its revision; None when it failed or is not due (its status says why)."""
        if not self._due(PIN, PIN_READ, manual=manual):
            return None
        try:
            document = read_pin(self.reader)
        except ReconcileFailure as failure:
            self._pin_failed(failure, key=PIN_READ, revision=None)
            return None
        if not self._due(PIN, document.revision, manual=manual):
            return None  # this revision failed for good before; parsing it again changes nothing
        try:
            pins = parse_pin(document)
        except ReconcileFailure as failure:
            self._pin_failed(failure, key=document.revision, revision=document.revision)
            return None
        self.failed.pop(PIN, None)
        previous = self.pin
        self.pin = observe_pin(
            self.pin,
            condition="Ready",
            reason="Synced",
            message=f"read {document.path}",
            revision=document.revision,
            now=self.clock(),
        )
        if previous.revision != document.revision or previous.condition == "Stalled":
            after = previous.reason if previous.condition == "Stalled" else None
            event("pin", outcome="read", revision=document.revision, models=len(pins.models), after=after)
        return pins, document.revision

    def _pin_failed(self, failure: ReconcileFailure, *, key: str, revision: str | None) -> None:
        now = self.clock()
        memo = self._remember(PIN, failure, key=key, now=now)
        self.pin = observe_pin(
            self.pin,
            condition="Stalled",
            reason=failure.reason,
            message=failure.message,
            revision=revision,
            now=now,
            next_attempt_at=memo.next_attempt_at,
        )
        event("pin", level=logging.WARNING, outcome="failed", revision=revision, **_failed(memo))
        for name, status in list(self.statuses.items()):
            kept = status.model_dump(exclude={"model", "last_transition_time"})
            self._record(name, Observation.model_validate({**kept, **_stalled(memo)}), now=now)
        self._notify_failure(PIN, failure.reason)

    def _apply(self, action: SyncAction, *, revision: str, manual: bool) -> None:
        if action.kind == "load":
            self._load(action, revision=revision, manual=manual)
            return
        cleared = self.failed.pop(action.model, None)  # nothing to load: an earlier failure no longer applies
        if action.kind == "remove":
            self.slots.remove(action.model)
            self.statuses = {k: v for k, v in self.statuses.items() if k != action.model}
            event("removed", model=action.model, version=action.live.version if action.live else None)
            return
        self._record(action.model, settled(action, revision=revision))
        if cleared is not None:  # e.g. the pin went back to the live version after a failed rollout
            event("recovered", model=action.model, serving=action.live.version if action.live else None,
                  after=cleared.reason)

    def _load(self, action: SyncAction, *, revision: str, manual: bool) -> None:
        name, pin = action.model, action.pin
        assert pin is not None
        key = attempt_key(pin)
        base = {
            "desired_version": pin.version,
            "live_version": action.live.version if action.live else None,
            "pin_revision": revision,
        }
        last = self.failed.get(name)
        if last is not None and not should_attempt(last, key=key, now=self.clock(), manual=manual):
            self._record(name, Observation(**base, **_stalled(last)))  # e.g. after a pin outage overwrote the reason
            return
        self._record(
            name, Observation(condition="Reconciling", reason="Progressing", message=f"loading v{pin.version}", **base)
        )
        try:
            model = prepare(self.store, name, pin=pin, now=self.clock())
        except ReconcileFailure as failure:  # the slot keeps its last good model
            memo = self._remember(name, failure, key=key, now=self.clock())
            self._record(name, Observation(**base, **_stalled(memo)))
            event("stalled", level=logging.WARNING, model=name, version=pin.version, serving=base["live_version"],
                  sha256=short(pin.artifact_sha256), **_failed(memo))
            self._notify_failure(name, failure.reason)
            return
        cleared = self.failed.pop(name, None)
        previous = self.slots.swap(model)
        versions = {"from": previous.version if previous else None, "to": pin.version}  # `from` is a keyword
        event("swap", model=name, **versions, sha256=short(pin.artifact_sha256), revision=revision)
        if cleared is not None:
            event("recovered", model=name, serving=pin.version, after=cleared.reason)
        self._record(
            name,
            Observation(
                condition="Ready",
                reason="Synced",
                message=f"serving v{pin.version}",
                **{**base, "live_version": pin.version},
            ),
        )
        for observer in self.swaps:
            observer(name, pin.version)

    def _due(self, name: str, key: str, *, manual: bool) -> bool:
        return should_attempt(self.failed.get(name), key=key, now=self.clock(), manual=manual)

    def _remember(self, name: str, failure: ReconcileFailure, *, key: str, now: datetime) -> Failure:
        memo = record_failure(
            self.failed.get(name),
            reason=failure.reason,
            message=failure.message,
            terminal=failure.terminal,
            key=key,
            now=now,
            base_s=self.retry_base_s,
        )
        self.failed[name] = memo  # only passes read `failed`, under the pass lock
        return memo

    def _record(self, model: str, seen: Observation, *, now: datetime | None = None) -> None:
        # Copy on write: HTTP handlers read `statuses` from other threads without a lock.
        status = observe(model, self.statuses.get(model), seen=seen, now=now or self.clock())
        self.statuses = {**self.statuses, model: status}

    def _notify_failure(self, model: str, reason: Reason) -> None:
        for observer in self.failures:
            observer(model, reason)


def _failed(failure: Failure) -> dict:
    """A remembered failure's log fields: why, and when (or whether) it is tried again; the message last."""
    retry = {"terminal": True} if failure.terminal else {"terminal": False, "next_attempt": failure.next_attempt_at}
    return {"reason": failure.reason, **retry, "message": failure.message}


def _stalled(failure: Failure) -> dict:
    """The status fields of a remembered failure: Stalled, why, and when (or whether) it is tried again."""
    return {"condition": "Stalled", "reason": failure.reason, "message": failure.message,
            "terminal": failure.terminal, "next_attempt_at": failure.next_attempt_at}
