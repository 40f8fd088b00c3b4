"""Replacing a file all at once: the old content or the new, never a part, no temporaries left."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.atomic import write_atomic


def test_writes_text_and_bytes_creating_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.json"
    write_atomic(target, "first ✓")
    assert target.read_text(encoding="utf-8") == "first ✓"
    write_atomic(target, b"\x00second")
    assert target.read_bytes() == b"\x00second"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"], "no temporary file is left behind"
    assert target.stat().st_mode & 0o777 == 0o644, "readable by others (a shared cache or forge), like a plain write"


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "file.json"
    write_atomic(target, "old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipelines.adapters.atomic.os.fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]
