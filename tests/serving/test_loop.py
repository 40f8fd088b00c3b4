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


class CountingReconciler:
    def __init__(self) -> None:
        self.passes: list[bool] = []  # manual or not, per pass

    def reconcile(self, *, manual: bool) -> None:
        self.passes.append(manual)


def test_a_trigger_reaches_the_other_workers_through_the_shared_file(tmp_path) -> None:
    from serving.trigger import SharedTrigger

    async def scenario() -> tuple[list[bool], list[bool], list[bool]]:
        workers = [CountingReconciler() for _ in range(3)]
        loops = [ReconcileLoop(w, interval_s=300, jitter=0, shared=SharedTrigger(tmp_path / "trigger"))  # type: ignore[arg-type]
                 for w in workers]
        for loop in loops:
            loop.start()
        await asyncio.sleep(0.3)  # every first pass is done; each waits out its 300 s
        loops[0].trigger()  # the webhook reached worker 0
        await asyncio.sleep(1.0)  # the others look every CHECK_S
        for loop in loops:
            await loop.stop()
        return workers[0].passes, workers[1].passes, workers[2].passes

    first, second, third = asyncio.run(scenario())
    assert first == second == third == [False, True], "one triggered pass each; worker 0 not twice for its own pull"


def test_a_pull_landing_right_after_a_workers_own_is_not_lost(tmp_path, monkeypatch) -> None:
    """Worker B pulls between worker A's write and A's stamp: A must still see B's pull."""
    import serving.trigger as trigger

    path = tmp_path / "trigger"
    a, b = trigger.SharedTrigger(path), trigger.SharedTrigger(path)
    real_write = trigger.write_atomic

    def b_pulls_right_after(target, content):
        written = real_write(target, content)
        monkeypatch.setattr(trigger, "write_atomic", real_write)
        b.pull()
        return written

    monkeypatch.setattr(trigger, "write_atomic", b_pulls_right_after)
    a.pull()
    assert a.pulled(), "B's pull was stamped as A's own and lost"
    assert not b.pulled(), "B does not run a pass for its own pull"
