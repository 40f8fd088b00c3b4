"""Micro-batching: requests that wait for the same model are predicted in one call and
logged with one fsync.

No timer and no background task: a request that finds fewer than MAX_DRAINS batches
running starts a drain, which predicts whatever queued meanwhile, again and again until
the queue is empty. At low load a request runs alone at once; under load, requests that
arrive while batches predict and log form the next one. Each request keeps the LiveModel it took when it arrived: a
drain groups by model object, so a swap never moves a request to another version.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from serving.slot import LiveModel

MAX_BATCH_ROWS = 1024  # a drain stops adding requests past this many rows (one always goes)
# Batches in flight per model: while one waits for its log's fsync (most of a small batch's
# time), the next one predicts instead of queueing behind it. Each still answers only once
# its own records are durable.
MAX_DRAINS = 2


@dataclass
class Pending:
    """One request waiting for its predictions."""

    live: LiveModel
    records: list[Any]  # checked records, or an image model's decoded images
    columns: list[list] | None  # the records' values per column, when the check gathered them
    request_id: str
    future: asyncio.Future
    received: datetime = field(default_factory=lambda: datetime.now(UTC))


# Runs in a worker thread: predictions (or the exception) for each request of a group.
Runner = Callable[[LiveModel, list[Pending]], list[Any]]


class Batcher:
    """Queues requests for one model name and drains them in batches."""

    def __init__(self, run: Runner) -> None:
        self.run = run
        self._queue: list[Pending] = []
        self._drains: set[asyncio.Task] = set()  # held here: the loop keeps only weak references

    async def predict(self, live: LiveModel, records: list[Any], *, request_id: str,
                      columns: list[list] | None = None) -> list:
        """The predictions for `records` (whose values per column are `columns`, when known), made
        by `live`, once logged."""
        loop = asyncio.get_running_loop()
        pending = Pending(live=live, records=records, columns=columns, request_id=request_id,
                          future=loop.create_future())
        self._queue.append(pending)
        if len(self._drains) < MAX_DRAINS:
            task = loop.create_task(self._drain())
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        return await pending.future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._take()
                try:
                    await self._run_groups(batch)
                except Exception as exc:  # e.g. the log cannot be written: none of these may be answered
                    _settle(batch, [exc] * len(batch))
        finally:
            # Leave the count in the same step that saw the queue empty: a done-callback runs a loop
            # iteration later, and a request queued in between would find every drain still
            # "running" and wait for one that never comes (until another request arrived).
            self._drains.discard(asyncio.current_task())  # type: ignore[arg-type]

    def _take(self) -> list[Pending]:
        taken, rows = [], 0
        while self._queue and (not taken or rows + len(self._queue[0].records) <= MAX_BATCH_ROWS):
            rows += len(self._queue[0].records)
            taken.append(self._queue.pop(0))
        return taken

    async def _run_groups(self, batch: list[Pending]) -> None:
        groups: dict[int, list[Pending]] = {}
        for pending in batch:
            groups.setdefault(id(pending.live), []).append(pending)
        for group in groups.values():
            _settle(group, await asyncio.to_thread(self.run, group[0].live, group=group))


def _settle(group: list[Pending], outcomes: list[Any]) -> None:
    for pending, outcome in zip(group, outcomes, strict=True):
        if pending.future.done():  # the client went away
            continue
        if isinstance(outcome, BaseException):
            pending.future.set_exception(outcome)
        else:
            pending.future.set_result(outcome)
