"""What the manifests are checked against, read from mlpin itself: the serving app's routes,
the settings and variables the code reads, the Dockerfiles' users, and the Secrets that
docs/kubernetes.md tells operators to create."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import PROJECT

DEPLOY_PATH = PROJECT / "deploy" / "k8s"
KUSTOMIZATIONS = ("base", "overlays/example")  # every folder under DEPLOY_PATH that kubectl apply -k takes
DOCS_PATH = PROJECT / "docs" / "kubernetes.md"
# the image each workload runs, by the Dockerfile that builds it
DOCKERFILES = {"mlpin-serving": PROJECT / "serving" / "Dockerfile",
               "mlpin-drift-check": DEPLOY_PATH / "jobs-image" / "Dockerfile"}
# variables other than MLPIN_* a ConfigMap may hold, and the file that reads each
CONFIG_VARIABLES = {"MLFLOW_TRACKING_URI": "pipelines/adapters/registry.py",
                    "GITHUB_REPOSITORY": "pipelines/adapters/forge.py",
                    "GITHUB_API_URL": "pipelines/adapters/forge.py",
                    "GITHUB_SERVER_URL": "pipelines/adapters/git.py"}
# MLPIN_* variables of the pipelines (not serving settings) the drift check may be given
PIPELINE_VARIABLES = {"MLPIN_BOT_LOGIN": "pipelines/adapters/forge.py"}


@dataclass(frozen=True)
class Facts:
    """What the rules compare the manifests with."""

    get_routes: frozenset[str]  # GET paths of the real serving app
    serving_variables: frozenset[str]  # MLPIN_* names serving reads: its settings, and the git token
    drift_variables: frozenset[str]  # MLPIN_* names `mlpin drift check` and git read
    config_variables: frozenset[str]  # other names a ConfigMap may hold (MLflow's, GitHub's)
    secrets: dict[str, frozenset[str]]  # Secret name -> keys, as docs/kubernetes.md creates them
    users: dict[str, int]  # workload name -> the USER of its image's Dockerfile


def read_facts(get_routes: set[str]) -> Facts:
    """Facts for the rules, given the GET routes of a real serving app."""
    from pipelines.adapters.git import TOKEN_VARIABLE
    from pipelines.stages.driftcheck import LOG_URI_VARIABLE
    from serving.settings import ServingSettings

    for name, path in (CONFIG_VARIABLES | PIPELINE_VARIABLES).items():
        assert name in (PROJECT / path).read_text(), f"{path} no longer reads {name}: update tests/deploy/facts.py"
    prefix = ServingSettings.model_config["env_prefix"]
    return Facts(
        get_routes=frozenset(get_routes),
        serving_variables=frozenset({f"{prefix}{name.upper()}" for name in ServingSettings.model_fields}
                                    | {TOKEN_VARIABLE}),
        drift_variables=frozenset({LOG_URI_VARIABLE, TOKEN_VARIABLE, *PIPELINE_VARIABLES}),
        config_variables=frozenset(CONFIG_VARIABLES),
        secrets=documented_secrets(DOCS_PATH.read_text()),
        users={name: dockerfile_user(path) for name, path in DOCKERFILES.items()},
    )


def documented_secrets(markdown: str) -> dict[str, frozenset[str]]:
    """Secret name -> keys of every `kubectl ... create secret generic` command in `markdown`."""
    secrets: dict[str, frozenset[str]] = {}
    for line in markdown.replace("\\\n", " ").splitlines():
        if "create secret generic" not in line:
            continue
        words = shlex.split(line.replace("<", "'<").replace(">", ">'"))
        name = words[words.index("generic") + 1]
        keys = {w.split("=", 2)[1] for w in words if w.startswith(("--from-literal=", "--from-file="))}
        secrets[name] = frozenset(keys)
    return secrets


def dockerfile_user(path: Path) -> int:
    """The numeric USER a Dockerfile ends with."""
    users = re.findall(r"^USER (\d+)$", path.read_text(), flags=re.MULTILINE)
    assert users, f"{path} has no numeric USER line"
    return int(users[-1])
