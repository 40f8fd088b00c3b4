"""The manifests keep mlpin's rules (tests/deploy/rules.py), and each rule catches a broken copy."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.deploy.facts import Facts
from tests.deploy.kustomize import find, pod_spec
from tests.deploy.rules import RULES, problems


@pytest.mark.parametrize("rule", RULES, ids=[rule.__name__ for rule in RULES])
def test_the_manifests_keep_the_rule(rule: Callable, rendered: list[dict], facts: Facts) -> None:
    assert rule(rendered, facts) == []


def serving(objects: list[dict]) -> dict:
    return pod_spec(find(objects, "Deployment", "mlpin-serving"))["containers"][0]


def drift(objects: list[dict]) -> dict:
    return pod_spec(find(objects, "CronJob", "mlpin-drift-check"))


def serving_config(objects: list[dict]) -> dict:
    return find(objects, "ConfigMap", "mlpin-serving")["data"]


def env_entry(container: dict, name: str) -> dict:
    return next(e for e in container["env"] if e["name"] == name)


BREAKAGES = [
    ("no-readiness", lambda o: serving(o).pop("readinessProbe"), "no readinessProbe"),
    ("readiness-on-healthz", lambda o: serving(o)["readinessProbe"]["httpGet"].update(path="/healthz"),
     "readinessProbe path /healthz, expected /readyz"),
    ("liveness-not-a-route", lambda o: serving(o)["livenessProbe"]["httpGet"].update(path="/livez"),
     "not a GET route"),
    ("probe-port-unknown", lambda o: serving(o)["readinessProbe"]["httpGet"].update(port="web"), "port 'web'"),
    ("command-port-differs", lambda o: serving(o)["command"].__setitem__(-1, "9000"), "--port 9000"),
    ("latest", lambda o: serving(o).update(image="mlpin-serving:latest"), "pinned tag"),
    ("no-tag", lambda o: drift(o)["initContainers"][0].update(image="mlpin-jobs"), "pinned tag"),
    ("escalation", lambda o: serving(o)["securityContext"].update(allowPrivilegeEscalation=True),
     "allowPrivilegeEscalation must be false"),
    ("privileged", lambda o: drift(o)["containers"][0]["securityContext"].update(privileged=True),
     "privileged must be false"),
    ("writable-root", lambda o: serving(o)["securityContext"].pop("readOnlyRootFilesystem"),
     "readOnlyRootFilesystem must be true"),
    ("root", lambda o: drift(o)["securityContext"].update(runAsUser=0), "not its image's USER"),
    ("container-as-root", lambda o: serving(o)["securityContext"].update(runAsUser=0), "runAsUser overrides"),
    ("service-links", lambda o: drift(o).pop("enableServiceLinks"), "enableServiceLinks must be false"),
    ("capability-added", lambda o: serving(o)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
     "drop ALL and add none"),
    ("cache-not-mounted", lambda o: serving(o)["volumeMounts"].pop(0), "MLPIN_CACHE_DIR"),
    ("log-dir-elsewhere", lambda o: serving_config(o).update(MLPIN_LOG_DIR="/srv/logs"), "MLPIN_LOG_DIR"),
    ("embedded-mlflow", lambda o: serving_config(o).pop("MLFLOW_TRACKING_URI"), "embedded MLflow"),
    ("clone-not-mounted", lambda o: drift(o)["initContainers"][0]["volumeMounts"].clear(), "the clone"),
    ("no-limits", lambda o: serving(o)["resources"].pop("limits"), "resources.limits.cpu"),
    ("no-spread", lambda o: pod_spec(find(o, "Deployment", "mlpin-serving")).pop("topologySpreadConstraints"),
     "hostname and zone"),
    ("pdb-selects-nothing", lambda o: find(o, "PodDisruptionBudget", "mlpin-serving")["spec"]["selector"]
     ["matchLabels"].update({"app.kubernetes.io/name": "serving"}), "PodDisruptionBudget mlpin-serving: selector"),
    ("service-target-port", lambda o: find(o, "Service", "mlpin-serving")["spec"]["ports"][0]
     .update(targetPort=8000), "targetPort 8000"),
    ("unknown-setting", lambda o: serving_config(o).update(MLPIN_PIN_URL="x"), "MLPIN_PIN_URL (ConfigMap"),
    ("bad-setting-value", lambda o: serving_config(o).update(MLPIN_POLL_INTERVAL_S="soon"), "refuses its settings"),
    ("unused-key", lambda o: find(o, "ConfigMap", "mlpin-github")["data"].update(GITHUB_REPO="a/b"),
     "key GITHUB_REPO is used by no container"),
    ("missing-key", lambda o: find(o, "ConfigMap", "mlpin-github")["data"].pop("GITHUB_REPOSITORY"),
     "key GITHUB_REPOSITORY, which it lacks"),
    ("undocumented-secret", lambda o: env_entry(serving(o), "MLPIN_WEBHOOK_SECRET")["valueFrom"]["secretKeyRef"]
     .update(name="webhook"), "Secret webhook key secret"),
    ("serving-setting-in-cronjob", lambda o: drift(o)["containers"][0]["env"].append(
        {"name": "MLPIN_POLL_INTERVAL_S", "value": "5"}), "MLPIN_POLL_INTERVAL_S (env) is not a setting"),
    ("not-an-mlpin-command", lambda o: drift(o)["containers"][0].update(command=["mlpin", "drift", "chek"]),
     "is not `mlpin drift check`"),
    ("concurrent-checks", lambda o: find(o, "CronJob", "mlpin-drift-check")["spec"].update(concurrencyPolicy="Allow"),
     "concurrencyPolicy must be Forbid"),
    ("outage-not-retried", lambda o: find(o, "CronJob", "mlpin-drift-check")["spec"]["jobTemplate"]["spec"]
     ["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"].append(3), "not [1, 2, 3, 4]"),
]


@pytest.mark.parametrize(("breakage", "expected"), [b[1:] for b in BREAKAGES], ids=[b[0] for b in BREAKAGES])
def test_a_broken_copy_is_caught(breakage: Callable, expected: str, rendered: list[dict], facts: Facts) -> None:
    breakage(rendered)
    found = problems(rendered, facts)
    assert any(expected in p for p in found), found
