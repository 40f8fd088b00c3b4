"""Replayed webhook deliveries are recognised within a window, with bounded memory."""

from __future__ import annotations

from serving.deliveries import Deliveries


def test_a_delivery_is_a_replay_within_the_window_and_new_after_it() -> None:
    now = [0.0]
    seen = Deliveries(window_s=60, clock=lambda: now[0])
    assert [seen.first_time("a"), seen.first_time("a"), seen.first_time("b")] == [True, False, True]
    now[0] = 61.0
    assert seen.first_time("a") is True


def test_memory_is_bounded_by_forgetting_the_oldest() -> None:
    seen = Deliveries(limit=3)
    for delivery in ("a", "b", "c", "d"):
        assert seen.first_time(delivery)
    assert (seen.first_time("a"), seen.first_time("d")) == (True, False)
