"""The test renderer does what kustomize does for the features deploy/k8s uses, and refuses
every other one, so the schema and rule tests see what `kubectl apply -k` would apply."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.facts import DEPLOY_PATH, KUSTOMIZATIONS
from tests.deploy.kustomize import Unsupported, containers, find, render

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "web:1.0"}]}}}}
CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"A": "1", "B": "2"}}


def kustomization(folder: Path, fields: dict, **files: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(fields))
    for name, content in files.items():
        (folder / name).write_text(content if isinstance(content, str) else yaml.safe_dump_all(content))
    return folder


def test_the_overlay_sets_namespace_images_replicas_and_config_values(overlay: list[dict]) -> None:
    assert {o["metadata"].get("namespace") for o in overlay} == {"mlpin"}
    assert find(overlay, "Deployment", "mlpin-serving")["spec"]["replicas"] == 3
    assert {c["image"] for o in overlay for c in containers(o)} == {
        "registry.example.com/mlpin/serving:0.1.0", "registry.example.com/mlpin/jobs:0.1.0"}
    config = find(overlay, "ConfigMap", "mlpin-serving")["data"]
    assert config["MLPIN_PIN_URI"] == "https://github.com/example-org/models.git"
    assert config["MLPIN_CACHE_DIR"] == "/var/lib/mlpin/cache"  # base keys the patch leaves alone stay
    assert find(overlay, "Service", "mlflow")["spec"]["type"] == "ExternalName"


def test_the_base_is_left_unchanged_by_its_overlay(base: list[dict], overlay: list[dict]) -> None:
    assert not any("namespace" in o["metadata"] for o in base)
    assert find(base, "Deployment", "mlpin-serving")["spec"]["replicas"] == 2


def test_transformers_apply_to_resources_of_nested_folders(tmp_path: Path) -> None:
    kustomization(tmp_path / "base", {"resources": ["app.yaml"]}, **{"app.yaml": [DEPLOYMENT, CONFIG]})
    top = kustomization(tmp_path / "top", {
        "resources": ["../base"], "namespace": "prod", "images": [{"name": "web", "newName": "r.io/web"}],
        "replicas": [{"name": "web", "count": 4}], "patches": [{"path": "values.yaml"}],
    }, **{"values.yaml": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                           "data": {"B": "two", "C": "3"}}]})
    objects = render(top)
    deployment = find(objects, "Deployment", "web")
    assert deployment["metadata"]["namespace"] == "prod"
    assert deployment["spec"]["replicas"] == 4
    assert containers(deployment)[0]["image"] == "r.io/web:1.0"  # newName keeps the tag
    assert find(objects, "ConfigMap", "settings")["data"] == {"A": "1", "B": "two", "C": "3"}


UNSUPPORTED = [
    ("generator", {"configMapGenerator": [{"name": "x", "literals": ["A=1"]}]}, {}, "configMapGenerator"),
    ("common-labels", {"commonLabels": {"team": "ml"}}, {}, "commonLabels"),
    ("image-digest", {"images": [{"name": "web", "digest": "sha256:" + "0" * 64}]}, {}, "only name, newName"),
    ("image-matches-nothing", {"images": [{"name": "api", "newTag": "2"}]}, {}, "matches no container"),
    ("replicas-match-nothing", {"replicas": [{"name": "api", "count": 2}]}, {}, "matches no workload"),
    ("inline-patch", {"patches": [{"patch": "{}", "target": {"kind": "Deployment"}}]}, {}, "only `path:`"),
    ("list-in-patch", {"patches": [{"path": "p.yaml"}]},
     {"p.yaml": [{"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": {
         "containers": [{"name": "c", "image": "web:2"}]}}}}]}, "strategic-merge list semantics"),
    ("anchor", {}, {"app.yaml": "kind: ConfigMap\nmetadata: {name: a}\ndata: &d {A: '1'}\n---\n"
                                "kind: ConfigMap\nmetadata: {name: b}\ndata: *d\n"}, "YAML anchor"),
    ("duplicate", {"resources": ["app.yaml", "again.yaml"]}, {"again.yaml": [DEPLOYMENT]}, "more than one object"),
]


@pytest.mark.parametrize(("fields", "files", "message"), [u[1:] for u in UNSUPPORTED], ids=[u[0] for u in UNSUPPORTED])
def test_what_the_renderer_does_not_implement_fails(tmp_path: Path, fields: dict, files: dict, message: str) -> None:
    folder = kustomization(tmp_path, {"resources": ["app.yaml"], **fields}, **{"app.yaml": [DEPLOYMENT], **files})
    with pytest.raises(Unsupported, match=message):
        render(folder)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_the_renderer_agrees_with_kubectls_kustomize(name: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the renderer is checked against its built-in kustomize only where it is")
    built = subprocess.run([kubectl, "kustomize", str(DEPLOY_PATH / name)], capture_output=True, text=True,
                           timeout=60)
    assert built.returncode == 0, built.stderr

    def by_id(objects: list[dict]) -> dict:
        return {(o["kind"], o["metadata"]["name"]): o for o in objects}

    assert by_id(render(DEPLOY_PATH / name)) == by_id([o for o in yaml.safe_load_all(built.stdout) if o])


def test_every_kustomization_and_manifest_under_deploy_is_checked() -> None:
    kustomizations = {p.parent.relative_to(DEPLOY_PATH).as_posix() for p in DEPLOY_PATH.rglob("kustomization.yaml")}
    assert kustomizations == set(KUSTOMIZATIONS)
    listed = set()
    for name in KUSTOMIZATIONS:
        fields = yaml.safe_load((DEPLOY_PATH / name / "kustomization.yaml").read_text())
        entries = [*fields.get("resources", []), *(p["path"] for p in fields.get("patches", []))]
        listed |= {(DEPLOY_PATH / name / entry).resolve() for entry in entries}
    manifests = {p.resolve() for p in DEPLOY_PATH.rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert manifests - listed == set(), "a manifest no kustomization lists is never validated"
