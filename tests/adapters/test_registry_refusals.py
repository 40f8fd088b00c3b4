"""A tracking server refusing credentials or a permission is invalid input that names what to
give the job (exit 2), never an outage to retry (exit 3) or a bug (exit 1)."""

from __future__ import annotations

import pytest

from pipelines.adapters.registry import _outside
from pipelines.core.errors import AccessRefused, InvalidInput, OutsideSystemError


def _mlflow_error(status: int, body: str = "Permission denied"):
    from mlflow.exceptions import MlflowException
    from mlflow.utils.rest_utils import get_error_code

    # what mlflow.utils.rest_utils.verify_rest_response raises for a non-JSON answer
    return MlflowException(f"API request to endpoint /api/2.0/mlflow/registered-models/alias failed with error code "
                           f"{status} != 200. Response body: '{body}'", error_code=get_error_code(status))


@pytest.mark.parametrize(("status", "action", "expected", "says"), [
    (401, "reading alias production of wine", AccessRefused, "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_"),
    (403, "setting alias production of wine to v2", AccessRefused, "user mlpin-pr: it needs EDIT permission"),
    (403, "downloading models:/wine/2", AccessRefused, "it needs READ permission"),
    (503, "reading alias production of wine", OutsideSystemError, "mlflow: reading alias"),
], ids=["unauthenticated", "write-denied", "read-denied", "outage"])
def test_refusals_say_which_credentials_or_permission(monkeypatch, status, action, expected, says) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "mlpin-pr")
    with pytest.raises(expected) as caught, _outside(action):
        raise _mlflow_error(status)
    assert says in str(caught.value) and type(caught.value) is expected
    assert isinstance(caught.value, InvalidInput) == (expected is AccessRefused), "a refusal exits 2 (invalid input)"


def test_a_refusal_keeps_the_servers_words(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "mlpin-pr")
    with pytest.raises(AccessRefused) as caught, _outside("setting alias production of wine to v2"):
        raise _mlflow_error(403, "Permission denied for workspace default")
    assert "(MLflow said: Permission denied for workspace default)" in str(caught.value)


def test_an_invalid_host_header_is_not_a_missing_permission(monkeypatch) -> None:
    """MLflow's DNS-rebinding guard answers 403 too: the fix is the server's --allowed-hosts, not a grant."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlpin:secret@mlflow.example.internal:5000")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "mlpin-writer")
    with pytest.raises(AccessRefused) as caught, _outside("reading alias production of wine"):
        raise _mlflow_error(403, "Invalid Host header - possible DNS rebinding attack detected")
    message = str(caught.value)
    assert "add mlflow.example.internal:5000 to the tracking server's --allowed-hosts" in message
    assert "permission" not in message and "secret" not in message


def test_a_refused_artifact_download_is_a_refusal_too(monkeypatch) -> None:
    import requests

    response = requests.Response()
    response.status_code = 403
    response._content = b"Permission denied"
    with pytest.raises(InvalidInput, match="needs READ permission") as caught, _outside("downloading models:/wine/2"):
        raise requests.HTTPError("403 Client Error: for url: http://u:hunter2@mlflow/get-artifact", response=response)
    assert "hunter2" not in str(caught.value) and "MLflow said: Permission denied" in str(caught.value)
