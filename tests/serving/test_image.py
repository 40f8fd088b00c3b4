"""The serving image's recipe: lint-clean, built from the tested dependency set, and a
command (`python -m serving`, run as a process by test_kill) that imports nothing heavy up front."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import PROJECT

HEAVY = ("evidently", "torch", "github", "mlflow", "sklearn", "pipelines.tasks", "pipelines.stages")


def test_dockerfile_is_clean_under_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run(
        [str(hadolint), "--no-color", str(PROJECT / "serving/Dockerfile")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_runs_the_serving_command_as_a_non_root_user_with_a_healthcheck() -> None:
    text = (PROJECT / "serving/Dockerfile").read_text()
    assert 'CMD ["python", "-m", "serving", "--host", "0.0.0.0", "--port", "8080"]' in text
    assert "/healthz" in text.split("HEALTHCHECK", 1)[1]
    assert re.search(r"^USER [1-9][0-9]*$", text, re.MULTILINE)


def test_serving_requirements_are_all_pinned_by_the_constraints() -> None:
    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pinned = {
        norm(line.split("==")[0])
        for line in (PROJECT / "requirements/constraints.txt").read_text().splitlines()
        if "==" in line
    }
    wanted = [
        norm(re.split(r"[\[<>=]", line)[0])
        for line in (PROJECT / "requirements/serving.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert [name for name in wanted if name not in pinned] == []
    assert "torch" not in wanted and "evidently" not in wanted


def test_importing_the_app_pulls_in_no_heavy_or_training_library() -> None:
    code = f"import sys; from serving.app import create_app; print([m for m in sys.modules if m.startswith({HEAVY!r})])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, check=True)
    assert done.stdout.strip() == "[]"


def test_compose_example_builds_serving_beside_an_mlflow_server() -> None:
    services = yaml.safe_load((PROJECT / "serving/compose.yaml").read_text())["services"]
    assert services["serving"]["build"] == {"context": "..", "dockerfile": "serving/Dockerfile"}
    assert services["serving"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert all(port.startswith("127.0.0.1:") for s in services.values() for port in s["ports"])


def test_an_image_build_installs_the_torch_the_image_extra_pins() -> None:
    import tomllib

    extra = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["image"]
    torch = next(r for r in extra if r.startswith("torch=="))
    text = (PROJECT / "serving/Dockerfile").read_text()
    assert f"ARG TORCH_VERSION={torch.removeprefix('torch==')}" in text
    assert "ARG WITH_IMAGES=false" in text, "the default image stays without torch"
