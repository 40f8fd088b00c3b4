"""Background shipping of closed prediction log files to `MLPIN_LOG_URI`.

Runs every `MLPIN_LOG_SHIP_INTERVAL_S` and once more at shutdown, after the log is
closed, so a clean stop leaves nothing behind. An upload failure is logged and retried
on the next round; the files stay local meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from pipelines.adapters.logship import ship_closed
from pipelines.adapters.logsink import PredictionLog
from pipelines.adapters.pinreader import redacted
from pipelines.core.errors import OutsideSystemError
from serving.logs import event


class Shipper:
    """Ships what the prediction log has closed, on a timer and at the end."""

    def __init__(self, predictions: PredictionLog, uri: str, *, interval_s: float) -> None:
        self.predictions = predictions
        self.uri = uri
        self.interval_s = interval_s
        self._task: asyncio.Task | None = None
        self._round = threading.Lock()

    def start(self) -> None:
        """Begin shipping on the running event loop."""
        self._task = asyncio.create_task(self._run(), name="mlpin-log-ship")

    async def stop(self) -> None:
        """Stop the timer, close the log, and ship everything that is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.predictions.close()
        await asyncio.to_thread(self.ship_once)

    def ship_once(self) -> list[str]:
        """One round at a time; failures are logged, not raised (the next round retries)."""
        try:
            # A cancelled timer's round may still run in its thread when the final one starts.
            with self._round:
                shipped = ship_closed(self.predictions.folder, self.uri, writing=lambda: self.predictions.current_name)
        except OutsideSystemError as exc:
            event("ship_failed", level=logging.WARNING, uri=redacted(self.uri), message=exc.message)
            return []
        if shipped:
            event("shipped", files=len(shipped), uri=redacted(self.uri))
        return shipped

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await asyncio.to_thread(self.ship_once)
