"""A tiny, strict stand-in for `kustomize build`, so the manifests can be checked offline.

It implements only what deploy/k8s uses: `resources` (files and folders), `namespace`,
`images` (newName/newTag), `replicas` and strategic-merge `patches` given by `path` whose
documents are maps only (ConfigMap values). Any other kustomization field, images entry
key or patch shape raises `Unsupported` instead of being ignored: a manifest must never
pass here because the renderer skipped what kustomize would have done. It is stricter than
kustomize where that catches mistakes: an images or replicas entry that matches nothing,
two objects with one kind and name, and YAML anchors (whose support differs between YAML
libraries) are errors.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"}
IMAGE_KEYS = {"name", "newName", "newTag"}
SCALABLE = {"Deployment", "StatefulSet", "ReplicaSet"}
NAMESPACED = {"ConfigMap", "Secret", "Service", "Deployment", "StatefulSet", "ReplicaSet", "PodDisruptionBudget",
              "CronJob", "Job", "ServiceAccount"}


class Unsupported(Exception):
    """The kustomization uses something this renderer does not implement (or gets it wrong)."""


def render(folder: Path) -> list[dict]:
    """The objects `kustomize build folder` would print, for the subset described above."""
    kustomization = load_documents(folder / "kustomization.yaml")[0]
    unknown = sorted(set(kustomization) - SUPPORTED_FIELDS)
    if unknown:
        raise Unsupported(f"{folder}/kustomization.yaml uses {unknown}: implement it in tests/deploy/kustomize.py "
                          "or use a supported transformer")
    objects: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = folder / entry
        objects += render(path) if path.is_dir() else load_documents(path)
    _check_unique(objects, folder)
    for patch in kustomization.get("patches", []):
        _apply_patch_file(objects, folder, patch)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    for replicas in kustomization.get("replicas", []):
        _set_replicas(objects, replicas)
    return objects


def load_documents(path: Path) -> list[dict]:
    """Every YAML document of `path`, refusing anchors and aliases."""
    text = path.read_text()
    for event in yaml.parse(text):
        if getattr(event, "anchor", None):
            raise Unsupported(f"{path}: YAML anchor or alias &{event.anchor}: write the value out")
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def find(objects: list[dict], kind: str, name: str) -> dict:
    """The object of this kind and name."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    if len(found) != 1:
        raise Unsupported(f"expected one {kind} {name!r}, found {len(found)}")
    return found[0]


def containers(obj: dict) -> list[dict]:
    """Init and app containers of a Deployment-like object or a CronJob."""
    spec = pod_spec(obj)
    return [*spec.get("initContainers", []), *spec.get("containers", [])] if spec else []


def pod_spec(obj: dict) -> dict | None:
    """The pod template's spec of a workload; None for other kinds."""
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if obj["kind"] in SCALABLE | {"Job"}:
        return obj["spec"]["template"]["spec"]
    return None


def workloads(objects: list[dict]) -> list[dict]:
    """The objects that run pods."""
    return [o for o in objects if pod_spec(o) is not None]


def describe(obj: dict) -> str:
    """`Kind name`, for messages."""
    return f"{obj['kind']} {obj['metadata']['name']}"


def _check_unique(objects: list[dict], folder: Path) -> None:
    ids = [(o["kind"], o["metadata"]["name"]) for o in objects]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise Unsupported(f"{folder}: more than one object with kind and name {repeated}")


def _apply_patch_file(objects: list[dict], folder: Path, patch: dict) -> None:
    if set(patch) != {"path"}:
        raise Unsupported(f"patch entry {patch}: only `path:` is implemented")
    for document in load_documents(folder / patch["path"]):
        target = find(objects, document["kind"], document["metadata"]["name"])
        _merge(target, {k: v for k, v in document.items() if k not in ("apiVersion", "kind", "metadata")},
               where=f"{patch['path']}: {document['kind']}/{document['metadata']['name']}")


def _merge(target: dict, patch: dict, *, where: str) -> None:
    for key, value in patch.items():
        if isinstance(value, list) or (isinstance(key, str) and key.startswith("$")):
            raise Unsupported(f"{where}: {key!r} needs strategic-merge list semantics, which are not implemented")
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value, where=f"{where}.{key}")
        else:
            target[key] = copy.deepcopy(value)


def _set_namespace(objects: list[dict], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] not in NAMESPACED:
            raise Unsupported(f"namespace transformer on {obj['kind']}: not known to be namespaced here")
        obj["metadata"]["namespace"] = namespace


def _set_image(objects: list[dict], image: dict) -> None:
    if not set(image) <= IMAGE_KEYS or "name" not in image:
        raise Unsupported(f"images entry {image}: only name, newName and newTag are implemented")
    matched = 0
    for container in (c for obj in objects for c in containers(obj)):
        name, tag = split_image(container["image"])
        if name == image["name"]:
            new_tag = image.get("newTag", tag)
            container["image"] = image.get("newName", name) + (f":{new_tag}" if new_tag else "")
            matched += 1
    if not matched:
        raise Unsupported(f"images entry {image['name']!r} matches no container")


def _set_replicas(objects: list[dict], entry: dict) -> None:
    if set(entry) != {"name", "count"}:
        raise Unsupported(f"replicas entry {entry}: only name and count are implemented")
    targets = [o for o in objects if o["kind"] in SCALABLE and o["metadata"]["name"] == entry["name"]]
    if not targets:
        raise Unsupported(f"replicas entry {entry['name']!r} matches no workload")
    for obj in targets:
        obj["spec"]["replicas"] = entry["count"]


def split_image(image: str) -> tuple[str, str | None]:
    """(name, tag) of an image reference without a digest; tag None when there is none."""
    if "@" in image:
        raise Unsupported(f"image {image}: digests are not implemented")
    name, colon, tag = image.rpartition(":")
    if not colon or "/" in tag:  # `registry:5000/name` has a port, not a tag
        return image, None
    return name, tag
