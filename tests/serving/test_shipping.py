"""With MLPIN_LOG_URI, a clean stop leaves every answered request's record at the URI."""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters.logsink import read_records
from tests.helpers import pin, wait_until
from tests.serving.helpers import MODEL, ROW, Trained, serving, settings_for


def test_prediction_logs_are_shipped_and_nothing_is_left_behind(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    remote = tmp_path / "bucket"
    settings = settings_for(trained, tmp_path, log_uri=remote.as_uri(), log_max_bytes=2000, log_ship_interval_s=0.2)
    with serving(settings) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        ids = [running.client.post(f"/predict/{MODEL}", json=ROW).json()["request_id"] for _ in range(30)]
        wait_until(lambda: remote.exists() and any(remote.iterdir()))  # shipped while running
    assert sorted(r["request_id"] for r in read_records(remote)) == sorted(ids)
    assert list(settings.log_dir.iterdir()) == []
