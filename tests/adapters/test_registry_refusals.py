"""A tracking server refusing credentials or a permission is invalid input that names what to
give the job (exit 2), never an outage to retry (exit 3) or a bug (exit 1)."""

from __future__ import annotations

import pytest

from pipelines.adapters.registry import _outside
from pipelines.core.errors import InvalidInput, OutsideSystemError


def _mlflow_error(status: int):
    from mlflow.exceptions import MlflowException
    from mlflow.utils.rest_utils import get_error_code

    # what mlflow.utils.rest_utils.verify_rest_response raises for a non-JSON answer
    return MlflowException(f"failed with error code {status}", error_code=get_error_code(status))


@pytest.mark.parametrize(("status", "action", "expected", "says"), [
    (401, "reading alias production of wine", InvalidInput, "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_"),
    (403, "setting alias production of wine to v2", InvalidInput, "user mlpin-reader: it needs EDIT permission"),
    (403, "downloading models:/wine/2", InvalidInput, "it needs READ permission"),
    (503, "reading alias production of wine", OutsideSystemError, "mlflow: reading alias"),
], ids=["unauthenticated", "write-denied", "read-denied", "outage"])
def test_refusals_say_which_credentials_or_permission(monkeypatch, status, action, expected, says) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "mlpin-reader")
    with pytest.raises(expected) as caught, _outside(action):
        raise _mlflow_error(status)
    assert says in str(caught.value) and type(caught.value) is expected


def test_a_refused_artifact_download_is_a_refusal_too(monkeypatch) -> None:
    import requests

    response = requests.Response()
    response.status_code = 403
    with pytest.raises(InvalidInput, match="needs READ permission"), _outside("downloading models:/wine/2"):
        raise requests.HTTPError("403 Client Error: Permission denied", response=response)
