"""The sample datasets are exported deterministically and match what is committed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.helpers import PROJECT


def load_script():
    spec = importlib.util.spec_from_file_location("export_datasets", PROJECT / "scripts/export_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_reproduces_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    written = load_script().export(tmp_path)
    assert [p.name for p in written] == ["breast_cancer.yaml", "wine.yaml", "diabetes.yaml"]
    for path in sorted((tmp_path / "data").iterdir()):
        assert path.read_bytes() == (PROJECT / "data" / path.name).read_bytes(), path.name
