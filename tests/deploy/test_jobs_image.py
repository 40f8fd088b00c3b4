"""The drift CronJob's image recipe: lint-clean, and it holds the two programs the CronJob runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.deploy.facts import DOCKERFILES
from tests.deploy.kustomize import containers, find

DOCKERFILE_PATH = DOCKERFILES["mlpin-drift-check"]


def test_the_jobs_dockerfile_is_clean_under_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE_PATH)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_has_what_the_cronjob_runs(base: list[dict]) -> None:
    programs = {c["command"][0] for c in containers(find(base, "CronJob", "mlpin-drift-check"))}
    text = DOCKERFILE_PATH.read_text()
    assert programs == {"git", "mlpin"}
    assert "install -y --no-install-recommends git" in text
    # `mlpin` is the console script of the distribution, installed under the tested constraints
    assert "pip install -c requirements/constraints.txt ." in text
