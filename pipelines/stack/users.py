"""The tracking server's users, made by its admin through MLflow's auth REST API, and
brought back in line on every `up` (safe to repeat: each user, role, grant and assignment
is looked up first; passwords are set to the stack's secrets; extra grants are removed).

- `mlpin-writer`, for trusted jobs (propose, deploy, the drift check): EDIT on every
  experiment and registered model, and USE of the workspace, which is what lets it
  create experiments and models;
- `mlpin-pr`, for pull-request jobs (candidate, verify) only: READ on every registered
  model and on the experiments that hold their artifacts; it can create nothing (no
  workspace grant), so code from a pull request writes nothing to MLflow;
- `mlpin-serving`, for the replicas: the same READ grants, but its own password, so
  code from a pull request (which holds `mlpin-pr`'s) cannot lock serving out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

WORKSPACE = "default"
READ_GRANTS = (("experiment", "*", "READ"), ("registered_model", "*", "READ"))


@dataclass(frozen=True)
class Role:
    """A user and what it may do: (resource type, pattern, permission) grants."""

    user: str
    grants: tuple[tuple[str, str, str], ...]


WRITER = Role("mlpin-writer", (("workspace", "*", "USE"), ("experiment", "*", "EDIT"),
                               ("registered_model", "*", "EDIT")))
PR = Role("mlpin-pr", READ_GRANTS)
SERVING = Role("mlpin-serving", READ_GRANTS)
ROLES = (WRITER, PR, SERVING)


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
    """Each role's user with the password in `passwords`, its role with exactly its grants, as the admin."""
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
    """Create the user, or set its password again: someone holding it may have changed it."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_user(username)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_user(username, password)
        return
    client.update_user_password(username, password)  # an admin sets another's without the current one


def _ensure_role(client, role: Role) -> None:
    found = next((r for r in client.list_roles(WORKSPACE) if r.name == role.user), None)
    if found is None:
        found = client.create_role(WORKSPACE, role.user, description="mlpin stack: " + role.user)
    granted = {(p.resource_type, p.resource_pattern, p.permission): p.id
               for p in client.list_role_permissions(found.id)}
    for grant, grant_id in granted.items():
        if grant not in role.grants:  # a grant added by hand (or an older stack) would outlive the design
            client.remove_role_permission(grant_id)
    for grant in role.grants:
        if grant not in granted:
            client.add_role_permission(found.id, *grant)
    for other in client.list_user_roles(role.user):
        if other.id != found.id:
            client.unassign_role(role.user, other.id)
    if found.id not in {r.id for r in client.list_user_roles(role.user)}:
        client.assign_role(role.user, found.id)
