"""The reconcile loop coalesces triggers: a burst runs at most one more pass."""

from __future__ import annotations

import asyncio
import threading

from serving.loop import ReconcileLoop


class SlowReconciler:
    def __init__(self) -> None:
        self.passes = 0
        self.release = threading.Event()

    def reconcile(self, *, manual: bool) -> None:
        self.passes += 1
        self.release.wait(5)


def test_a_burst_of_triggers_during_a_pass_queues_exactly_one_more() -> None:
    async def scenario() -> int:
        reconciler = SlowReconciler()
        loop = ReconcileLoop(reconciler, interval_s=300, jitter=0)  # type: ignore[arg-type]
        loop.start()
        await asyncio.sleep(0.1)  # the first pass is running
        for _ in range(1000):
            loop.trigger()
        reconciler.release.set()
        await asyncio.sleep(0.3)
        await loop.stop()
        return reconciler.passes

    assert asyncio.run(scenario()) == 2
