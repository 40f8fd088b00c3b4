"""Every rendered object is valid against Kubernetes' own schemas (offline, strict: an
unknown or misspelt field is an error, as `kubectl apply --validate=strict` makes it)."""

from __future__ import annotations

import copy
import re

import kubernetes_validate
import pytest

from tests.deploy.kustomize import find, pod_spec

# the oldest release with preStop.sleep (beta, on by default), and the newest the validator ships
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
KUBERNETES_VERSION = KUBERNETES_VERSIONS[0]


def test_the_pinned_kubernetes_versions_ship_with_the_validator() -> None:
    assert set(KUBERNETES_VERSIONS) <= set(kubernetes_validate.utils.all_versions())


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_for_kubernetes(rendered: list[dict], version: str) -> None:
    assert {o["kind"] for o in rendered} >= {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "CronJob"}
    for obj in rendered:
        kubernetes_validate.validate(obj, version, strict=True)


def misspelt_field(objects: list[dict]) -> dict:
    deployment = copy.deepcopy(find(objects, "Deployment", "mlpin-serving"))
    pod_spec(deployment)["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/readyz"
    return deployment


def wrong_type(objects: list[dict]) -> dict:
    cronjob = copy.deepcopy(find(objects, "CronJob", "mlpin-drift-check"))
    cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"] = "twice"
    return cronjob


def missing_required(objects: list[dict]) -> dict:
    service = copy.deepcopy(find(objects, "Service", "mlpin-serving"))
    del service["spec"]["ports"][0]["port"]
    return service


@pytest.mark.parametrize(("broken", "message"), [
    (misspelt_field, "'pathh' was unexpected"),
    (wrong_type, "'twice' is not of type 'integer'"),
    (missing_required, "'port' is a required property"),
], ids=["misspelt-field", "wrong-type", "missing-required"])
def test_an_invalid_object_is_refused(broken, message: str, base: list[dict]) -> None:
    with pytest.raises(kubernetes_validate.ValidationError, match=re.escape(message)):
        kubernetes_validate.validate(broken(base), KUBERNETES_VERSION, strict=True)
