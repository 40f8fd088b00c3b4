"""The embedded registry stays embedded, and per repository, within one process.
(What every registry must do is in test_registry_contract.py.)"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.adapters.registry import Registry
from tests.helpers import copy_store


def test_each_repository_keeps_its_own_embedded_store(tmp_path: Path, mlflow_template: Path) -> None:
    # MLflow 3's set_tracking_uri exports MLFLOW_TRACKING_URI; a second Registry then
    # took the first store for a server and wrote artifacts into ./mlruns.
    roots = [copy_store(tmp_path / name, mlflow_template) for name in ("a", "b")]
    first, second = (Registry(root) for root in roots)
    assert second.embedded and second.uri.endswith(str(roots[1] / ".mlpin" / "mlflow.db"))
    assert "MLFLOW_TRACKING_URI" not in os.environ
    location = second.client.get_experiment(second.experiment_id("m")).artifact_location
    assert location == (roots[1] / ".mlpin" / "artifacts" / "m").as_uri()
    assert first.uri != second.uri


def _listing_raises(registry: Registry, monkeypatch, exc: Exception) -> None:
    """Make the MLflow client's listing call fail with `exc` (the adapter's outermost edge)."""

    def failing(*args, **kwargs):
        raise exc

    monkeypatch.setattr(registry.client, "search_registered_models", failing)


def test_a_bug_is_not_reported_as_an_mlflow_outage(tmp_path: Path, mlflow_template: Path, monkeypatch) -> None:
    import pytest
    import sqlalchemy.exc

    from pipelines.core.errors import OutsideSystemError

    registry = Registry(copy_store(tmp_path / "a", mlflow_template))
    _listing_raises(registry, monkeypatch, TypeError("a bug in the caller"))
    with pytest.raises(TypeError, match="a bug in the caller"):
        registry.models_with_alias("production")
    _listing_raises(registry, monkeypatch, sqlalchemy.exc.OperationalError("SELECT", {}, Exception("locked")))
    with pytest.raises(OutsideSystemError, match="mlflow: listing registered models failed"):
        registry.models_with_alias("production")


def test_an_object_store_sdk_failure_is_an_outage(tmp_path: Path, mlflow_template: Path, monkeypatch) -> None:
    # boto3 is not installed here: stand in for botocore's module so the S3 error type exists.
    import sys
    import types

    import pytest

    from pipelines.core.errors import OutsideSystemError

    class ClientError(Exception):
        pass

    fake = types.ModuleType("botocore.exceptions")
    fake.BotoCoreError, fake.ClientError = type("BotoCoreError", (Exception,), {}), ClientError
    monkeypatch.setitem(sys.modules, "botocore", types.ModuleType("botocore"))
    monkeypatch.setitem(sys.modules, "botocore.exceptions", fake)
    registry = Registry(copy_store(tmp_path / "a", mlflow_template))
    _listing_raises(registry, monkeypatch, ClientError("An error occurred (AccessDenied) when calling GetObject"))
    with pytest.raises(OutsideSystemError, match="AccessDenied"):
        registry.models_with_alias("production")
