"""Fixtures of the manifest tests: the rendered base and example overlay (fresh per test, so
a test may break its copy), and the facts they are checked against."""

from __future__ import annotations

import pytest

from tests.deploy.facts import DEPLOY_PATH, KUSTOMIZATIONS, Facts, read_facts
from tests.deploy.kustomize import render
from tests.helpers import isolate_environ


@pytest.fixture(scope="session")
def facts(tmp_path_factory: pytest.TempPathFactory) -> Facts:
    """Facts read from mlpin; the GET routes come from a real app built by `create_app`."""
    from serving.app import create_app
    from serving.settings import load_settings

    state = tmp_path_factory.mktemp("app")
    with pytest.MonkeyPatch.context() as patch:  # MLflow exports its tracking URI to the environment
        isolate_environ(patch, tmp_path_factory.mktemp("home"))
        app = create_app(load_settings(pin_source="file", pin_uri=str(state / "production.yaml"),
                                       registry_root=state, cache_dir=state / "cache", work_dir=state / "work",
                                       log_dir=state / "predictions"))
        paths = app.openapi()["paths"]
    return read_facts({path for path, operations in paths.items() if "get" in operations})


@pytest.fixture(params=KUSTOMIZATIONS)
def rendered(request: pytest.FixtureRequest) -> list[dict]:
    """The objects of the base, then of the example overlay."""
    return render(DEPLOY_PATH / request.param)


@pytest.fixture
def base() -> list[dict]:
    return render(DEPLOY_PATH / "base")


@pytest.fixture
def overlay() -> list[dict]:
    return render(DEPLOY_PATH / "overlays" / "example")
