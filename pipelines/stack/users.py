"""The tracking server's users, made by its admin through MLflow's auth REST API (safe to
repeat: each user, role, grant and assignment is looked up before it is created).

- `mlpin-writer`, for trusted jobs (propose, deploy, the drift check): EDIT on every
  experiment and registered model, and USE of the workspace, which is what lets it
  create experiments and models;
- `mlpin-reader`, for pull-request jobs (candidate, verify) and serving: READ on every
  registered model and on the experiments that hold their artifacts; it can create
  nothing (no workspace grant), so code from a pull request writes nothing to MLflow.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

WORKSPACE = "default"


@dataclass(frozen=True)
class Role:
    """A user and what it may do: (resource type, pattern, permission) grants."""

    user: str
    grants: tuple[tuple[str, str, str], ...]


WRITER = Role("mlpin-writer", (("workspace", "*", "USE"), ("experiment", "*", "EDIT"),
                               ("registered_model", "*", "EDIT")))
READER = Role("mlpin-reader", (("experiment", "*", "READ"), ("registered_model", "*", "READ")))
ROLES = (WRITER, READER)


@contextlib.contextmanager
def _as_admin(username: str, password: str) -> Iterator[None]:
    # MLflow's clients read credentials from the environment only; restore it afterwards.
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                                            "MLFLOW_TRACKING_TOKEN")}
    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    os.environ.update(MLFLOW_TRACKING_USERNAME=username, MLFLOW_TRACKING_PASSWORD=password)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def ensure_users(url: str, *, admin: tuple[str, str], passwords: dict[str, str]) -> None:
    """Create each role's user (password from `passwords`), its role and grants, as the admin."""
    import warnings

    with warnings.catch_warnings():  # its import chain warns about Starlette's deprecations
        warnings.simplefilter("ignore")
        from mlflow.server.auth.client import AuthServiceClient

    with _as_admin(*admin):
        client = AuthServiceClient(url)
        for role in ROLES:
            _ensure_user(client, role.user, passwords[role.user])
            _ensure_role(client, role)


def _ensure_user(client, username: str, password: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_user(username)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_user(username, password)


def _ensure_role(client, role: Role) -> None:
    found = next((r for r in client.list_roles(WORKSPACE) if r.name == role.user), None)
    if found is None:
        found = client.create_role(WORKSPACE, role.user, description="mlpin stack: " + role.user)
    granted = {(p.resource_type, p.resource_pattern, p.permission) for p in client.list_role_permissions(found.id)}
    for grant in role.grants:
        if grant not in granted:
            client.add_role_permission(found.id, *grant)
    if found.id not in {r.id for r in client.list_user_roles(role.user)}:
        client.assign_role(role.user, found.id)
