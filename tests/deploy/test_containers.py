"""The containers' commands, run here as plain processes with the manifests' settings (there
is no cluster or container engine): the serving command answers its probes on the routes the
Deployment names, and the clone container's git finds the repository and the token."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.deploy.config_rules import resolved_env
from tests.deploy.kustomize import find, pod_spec
from tests.helpers import commit_all, free_port, git, wait_until

STARTUP_SECONDS = 60  # a fresh interpreter imports FastAPI, MLflow and scikit-learn on a shared machine
EMPTY_PIN = "schema_version: 1\nmodels: {}\n"


def pin_repository(root: Path) -> Path:
    """A real git repository whose main branch pins no model."""
    (root / "models").mkdir(parents=True)
    (root / "models" / "production.yaml").write_text(EMPTY_PIN)
    git(root.parent, "init", "-q", "-b", "main", str(root))
    commit_all(root, "empty pin")
    return root


def on_this_machine(env: dict[str, str], mounts: list[dict], tmp_path: Path) -> dict[str, str]:
    """`env` with every path under a volumeMount moved under `tmp_path` (the pod's emptyDirs)."""
    moved = dict(env)
    for mount in mounts:
        for name, value in env.items():
            if value == mount["mountPath"] or value.startswith(mount["mountPath"] + "/"):
                moved[name] = str(tmp_path / mount["name"]) + value[len(mount["mountPath"]):]
    return moved


def expand(words: list[str], env: dict[str, str]) -> list[str]:
    """Kubernetes' $(VAR) expansion of a container's command."""
    return [re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), word) for word in words]


def test_the_serving_command_answers_its_probes_with_the_configmaps_settings(
        rendered: list[dict], tmp_path: Path) -> None:
    container = pod_spec(find(rendered, "Deployment", "mlpin-serving"))["containers"][0]
    settings = on_this_machine(resolved_env(rendered, container), container["volumeMounts"], tmp_path)
    secrets = {"MLPIN_WEBHOOK_SECRET": "webhook-secret", "MLPIN_ADMIN_TOKEN": "admin-token",
               "MLFLOW_TRACKING_USERNAME": "reader", "MLFLOW_TRACKING_PASSWORD": "reader-password"}
    # only the pin's address changes: a local repository instead of the example's GitHub one
    env = {**os.environ, **settings, **secrets, "MLPIN_PIN_URI": str(pin_repository(tmp_path / "models"))}
    # the root filesystem is read-only there: here, the working folder and HOME must stay empty
    workdir, home = tmp_path / "workdir", tmp_path / "home"
    for folder in (workdir, home, tmp_path / "tmp"):
        folder.mkdir()
    env |= {"HOME": str(home), "TMPDIR": str(tmp_path / "tmp")}
    port = free_port()
    command = container["command"]
    command = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    command[command.index("--host") + 1] = "127.0.0.1"  # listen here on loopback only
    command[command.index("--port") + 1] = str(port)
    log_path = tmp_path / "serving.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        probes = {name: container[name]["httpGet"]["path"]
                  for name in ("startupProbe", "livenessProbe", "readinessProbe")}
        wait_until(lambda: _answers(url + probes["readinessProbe"], process), timeout=STARTUP_SECONDS)
        for name, path in probes.items():
            assert httpx.get(url + path, timeout=5).status_code == 200, name
    finally:
        process.kill()
        process.wait(timeout=10)
    assert list(workdir.iterdir()) == [] and list(home.iterdir()) == [], "serving wrote outside its volumes"
    assert (tmp_path / "work").is_dir()  # the git mirror, on the `work` volume
    start = json.loads(log_path.read_text().splitlines()[0])  # MLPIN_LOG_FORMAT=json, from the ConfigMap
    assert start["event"] == "start"
    assert start["log_max_age_s"] == float(settings["MLPIN_LOG_MAX_AGE_S"])
    assert start["cache_dir"] == str(tmp_path / "cache")
    assert start["webhook_secret"] == "set"
    assert "reader-password" not in log_path.read_text()


def _answers(url: str, process: subprocess.Popen) -> bool:
    assert process.poll() is None, "the serving process exited during startup"
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def clone_container(objects: list[dict]) -> dict:
    return pod_spec(find(objects, "CronJob", "mlpin-drift-check"))["initContainers"][0]


def test_the_drift_check_clones_the_repository_serving_pins_from(rendered: list[dict]) -> None:
    clone = clone_container(rendered)
    url = expand(clone["command"], resolved_env(rendered, clone))[-2]
    assert url == find(rendered, "ConfigMap", "mlpin-serving")["data"]["MLPIN_PIN_URI"]


def test_the_clone_command_clones_with_git(rendered: list[dict], tmp_path: Path) -> None:
    clone = clone_container(rendered)
    pin_repository(tmp_path / "origin" / "example-org" / "models")
    git(tmp_path / "origin" / "example-org" / "models", "clone", "-q", "--bare", ".", "../models.git")
    env = {**resolved_env(rendered, clone), "GITHUB_SERVER_URL": (tmp_path / "origin").as_uri(),
           "GITHUB_REPOSITORY": "example-org/models"}
    command = expand(clone["command"], env)
    command[-1] = str(tmp_path / "work" / "repo")
    subprocess.run(command, env={**os.environ, **env}, check=True, capture_output=True, timeout=60)
    assert (tmp_path / "work" / "repo" / "models" / "production.yaml").read_text() == EMPTY_PIN


@pytest.mark.parametrize(("token", "answer"), [("a-token", "username=x-access-token\npassword=a-token\n"),
                                               ("", None)], ids=["token", "no-token"])
def test_the_clone_containers_git_gets_the_token_from_the_environment(
        base: list[dict], token: str, answer: str | None) -> None:
    env = {**os.environ, **resolved_env(base, clone_container(base)), "MLPIN_GIT_TOKEN": token}
    done = subprocess.run(["git", "credential", "fill"], input="protocol=https\nhost=github.com\n\n", env=env,
                          capture_output=True, text=True, timeout=30)
    if answer is None:  # no token and no prompt: git fails instead of waiting for a person
        assert done.returncode != 0 and "password=" not in done.stdout
    else:
        assert done.returncode == 0, done.stderr
        assert done.stdout.endswith(answer)
