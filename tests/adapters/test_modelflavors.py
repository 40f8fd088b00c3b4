"""Saving a scikit-learn model skips MLflow's comparison of its requirements with the
installed packages (they are read from them), and records the same exact requirements."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from pipelines.adapters.modelflavors import REQUIREMENTS, save_model_folder
from tests.fakes.registry import sample_candidate
from tests.helpers import copy_store


def test_saving_skips_the_requirement_check_and_restores_it(tmp_path: Path, monkeypatch) -> None:
    import mlflow.pyfunc
    import mlflow.utils.environment as environment

    calls: list[list[str]] = []
    for module in (environment, mlflow.pyfunc):
        monkeypatch.setattr(module, "warn_dependency_requirement_mismatches", calls.append)
    save_model_folder(sample_candidate(), tmp_path / "model")
    mlflow.pyfunc.load_model(str(tmp_path / "model"))  # outside: checked as MLflow always does
    assert calls == [[f"mlflow=={metadata.version('mlflow')}",
                      *(f"{p}=={metadata.version(p)}" for p in REQUIREMENTS)]]


def test_logging_skips_the_requirement_check_when_loading_the_model_back(tmp_path: Path, monkeypatch,
                                                                         mlflow_template: Path) -> None:
    import mlflow.pyfunc
    import mlflow.utils.environment as environment

    from pipelines.adapters.registry import Registry

    calls: list[list[str]] = []
    for module in (environment, mlflow.pyfunc):
        monkeypatch.setattr(module, "warn_dependency_requirement_mismatches", calls.append)
    Registry(copy_store(tmp_path / "repo", mlflow_template)).log_candidate(sample_candidate())  # with its example
    assert calls == []


def test_requirements_are_the_installed_versions(tmp_path: Path) -> None:
    save_model_folder(sample_candidate(), tmp_path / "model")
    lines = (tmp_path / "model/requirements.txt").read_text().splitlines()
    assert sorted(lines) == sorted(f"{p}=={metadata.version(p)}" for p in ("mlflow", *REQUIREMENTS))
