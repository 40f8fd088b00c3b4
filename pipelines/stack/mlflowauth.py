"""The stack's `authorization_function` for MLflow's basic-auth app: its default Basic
authentication, except that only the admin may change a password.

MLflow lets every user change its own password (`PATCH .../mlflow/users/update-password`).
The stack's users are service accounts whose passwords live in the stack's secrets: a
pull-request job holds `mlpin-pr`'s, and could otherwise change it (locking out every
other PR job) or, were users shared, lock out serving. Refusing self-service changes
keeps the secrets the only truth; `up` (as the admin) still sets every password.

Runs inside the tracking server (named in its auth ini), imported on its first request.
Must not be imported by mlpin's commands: it imports MLflow's server app.
"""

from __future__ import annotations

PASSWORD_ROUTE = "/mlflow/users/update-password"  # under /api/2.0 and /ajax-api/2.0 alike


def authenticate_request():
    """MLflow's Basic authentication; 403 for a non-admin asking to change a password."""
    from flask import Response, request
    from mlflow.server import auth

    authorization = auth.authenticate_request_basic_auth()
    if isinstance(authorization, Response) or not request.path.rstrip("/").endswith(PASSWORD_ROUTE):
        return authorization  # MLflow's own 401 answer, or any other route
    if auth.store.get_user(authorization.username).is_admin:
        return authorization
    return auth.make_forbidden_response()
