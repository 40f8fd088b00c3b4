"""Saving a scikit-learn model skips MLflow's comparison of its requirements with the
installed packages (they are read from them), and records the same exact requirements."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from pipelines.adapters.modelflavors import REQUIREMENTS, save_model_folder
from tests.fakes.registry import sample_candidate


def test_saving_skips_the_requirement_check_and_restores_it(tmp_path: Path, monkeypatch) -> None:
    import mlflow.utils.environment as environment

    calls: list[list[str]] = []
    monkeypatch.setattr(environment, "warn_dependency_requirement_mismatches", calls.append)
    save_model_folder(sample_candidate(), tmp_path / "model")
    assert calls == []
    environment.warn_dependency_requirement_mismatches(["still", "there"])
    assert calls == [["still", "there"]]


def test_requirements_are_the_installed_versions(tmp_path: Path) -> None:
    save_model_folder(sample_candidate(), tmp_path / "model")
    lines = (tmp_path / "model/requirements.txt").read_text().splitlines()
    assert sorted(lines) == sorted(f"{p}=={metadata.version(p)}" for p in ("mlflow", *REQUIREMENTS))
