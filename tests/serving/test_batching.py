"""Micro-batching with a fake predictor and a real prediction log: fewer model calls
than requests, each request answered by the model it took, failures kept to their own
request, and nothing answered that is not logged."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from pipelines.adapters.logsink import PredictionLog, read_records
from pipelines.core.inputs import InputColumn
from serving.batching import Batcher
from serving.predicting import run_batch
from serving.slot import LiveModel


class Doubler:
    """Predicts 2x (times `factor`); refuses x == -1; slow enough for requests to queue."""

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = factor
        self.calls: list[int] = []

    def predict(self, frame):
        self.calls.append(len(frame))
        time.sleep(0.02)
        if (frame["x"] == -1).any():
            raise ValueError("x = -1 is not allowed")
        return (frame["x"] * 2 * self.factor).to_numpy()


def live(version: int, predictor: Doubler) -> LiveModel:
    return LiveModel(
        name="m",
        version=version,
        artifact_sha256=str(version) * 64,
        task="regression",
        columns=[InputColumn(name="x", type="double")],
        predictor=predictor,
        loaded_at=datetime.now(UTC),
        example=[],
    )


async def submit_all(batcher: Batcher, requests: list[tuple[LiveModel, list[float]]]) -> list:
    calls = [
        batcher.predict(model, [{"x": x} for x in xs], request_id=f"r{i}") for i, (model, xs) in enumerate(requests)
    ]
    return await asyncio.gather(*calls, return_exceptions=True)


def test_concurrent_requests_share_model_calls_and_each_gets_its_rows(tmp_path: Path) -> None:
    predictor = Doubler()
    model = live(1, predictor)
    batcher = Batcher(partial(run_batch, PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=3600)))
    answers = asyncio.run(submit_all(batcher, [(model, [float(i), float(i) + 0.5]) for i in range(20)]))
    assert answers == [[2.0 * i, 2.0 * i + 1] for i in range(20)]
    assert len(predictor.calls) < 20 and sum(predictor.calls) == 40
    assert sorted(r["request_id"] for r in read_records(tmp_path)) == sorted(f"r{i}" for i in range(20))


def test_requests_keep_the_model_they_took_across_a_swap(tmp_path: Path) -> None:
    old, new = live(1, Doubler(1.0)), live(2, Doubler(10.0))
    batcher = Batcher(partial(run_batch, PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=3600)))
    answers = asyncio.run(submit_all(batcher, [(old, [1.0]), (old, [1.0]), (new, [1.0]), (old, [1.0]), (new, [1.0])]))
    assert answers == [[2.0], [2.0], [20.0], [2.0], [20.0]]
    assert {r["request_id"]: r["version"] for r in read_records(tmp_path)} == {
        "r0": 1,
        "r1": 1,
        "r2": 2,
        "r3": 1,
        "r4": 2,
    }


def test_a_failing_request_fails_alone(tmp_path: Path) -> None:
    model = live(1, Doubler())
    batcher = Batcher(partial(run_batch, PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=3600)))
    answers = asyncio.run(submit_all(batcher, [(model, [1.0]), (model, [-1.0]), (model, [3.0])] * 3))
    assert [a if isinstance(a, list) else type(a).__name__ for a in answers] == [[2.0], "ValueError", [6.0]] * 3
    assert len(read_records(tmp_path)) == 6  # only answered requests are logged


def test_nothing_is_answered_when_the_log_cannot_be_written_and_the_queue_keeps_moving(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    model = live(1, Doubler())
    batcher = Batcher(partial(run_batch, PredictionLog(blocker, max_bytes=1 << 20, max_age_s=3600)))
    answers = asyncio.run(submit_all(batcher, [(model, [1.0])] * 5))
    assert all(isinstance(a, OSError) for a in answers)
    with pytest.raises(OSError):
        asyncio.run(batcher.predict(model, [{"x": 1.0}], request_id="later"))  # a new drain starts; no request hangs


def test_a_request_queued_as_the_last_drains_finish_still_gets_a_drain(monkeypatch) -> None:
    """Both drains end and a third request arrives in the same loop iteration: it must start a
    drain of its own, not wait in the queue for one that never comes."""

    async def scenario() -> list:
        loop = asyncio.get_running_loop()
        gate = loop.create_future()

        async def held_to_thread(fn, *args, **kwargs):  # the predictions finish when the gate opens
            await gate
            return fn(*args, **kwargs)

        monkeypatch.setattr("serving.batching.asyncio.to_thread", held_to_thread)
        batcher = Batcher(lambda live, group: [["p"] for _ in group])
        model = object()
        first = asyncio.create_task(batcher.predict(model, [1], request_id="a"))
        await asyncio.sleep(0)
        second = asyncio.create_task(batcher.predict(model, [1], request_id="b"))
        await asyncio.sleep(0)

        async def third() -> list:  # its handler resumes in the same iteration as both drains
            await gate
            return await batcher.predict(model, [1], request_id="c")

        late = asyncio.create_task(third())
        await asyncio.sleep(0)
        gate.set_result(None)
        return await asyncio.wait_for(asyncio.gather(first, second, late), timeout=2)

    assert asyncio.run(scenario()) == [["p"], ["p"], ["p"]]
