"""Rules for the pods: probes on routes the real app serves, a pinned image, a restricted pod
that can still write where its processes write, resources, spread, and selectors that find
the serving pods. Each rule returns sentences naming the object and what to fix."""

from __future__ import annotations

from pathlib import PurePosixPath

from tests.deploy.config_rules import resolved_env
from tests.deploy.facts import Facts
from tests.deploy.kustomize import containers, describe, pod_spec, split_image, workloads


def probes(objects: list[dict], facts: Facts) -> list[str]:
    """Readiness on /readyz, liveness on /healthz, every probe on a real route and a declared port."""
    found = []
    for obj, container in _served(objects):
        where = f"{describe(obj)} container {container['name']}"
        ports = _ports(container)
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", None)):
            get = container.get(probe, {}).get("httpGet")
            if get is None:
                found += [f"{where}: no {probe} with httpGet"] if path else []
                continue
            if path and get["path"] != path:
                found.append(f"{where}: {probe} path {get['path']}, expected {path}")
            if get["path"] not in facts.get_routes:
                found.append(f"{where}: {probe} path {get['path']} is not a GET route of serving")
            if get["port"] not in ports:
                found.append(f"{where}: {probe} port {get['port']!r} is not a port of the container")
        command = container.get("command", [])
        port = command[command.index("--port") + 1] if "--port" in command else None
        if port is None or int(port) not in ports:
            found.append(f"{where}: the command's --port {port} is not the containerPort")
        scrape = obj["spec"]["template"]["metadata"].get("annotations", {}).get("prometheus.io/path")
        if scrape is not None and scrape not in facts.get_routes:
            found.append(f"{where}: prometheus.io/path {scrape} is not a GET route of serving")
    return found


def images(objects: list[dict], facts: Facts) -> list[str]:
    """Every image has a tag, and not `latest`."""
    found = []
    for obj in objects:
        for container in containers(obj):
            _, tag = split_image(container["image"])
            if tag in (None, "latest"):
                found.append(f"{describe(obj)} container {container['name']}: image {container['image']} needs a "
                             "pinned tag (not latest)")
    return found


def security(objects: list[dict], facts: Facts) -> list[str]:
    """Non-root as the image's user, no privilege escalation, read-only root, no capabilities."""
    found = []
    for obj in workloads(objects):
        spec, name = pod_spec(obj), describe(obj)
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True:
            found.append(f"{name}: pod securityContext.runAsNonRoot must be true")
        if pod.get("runAsUser") != facts.users.get(obj["metadata"]["name"]):
            found.append(f"{name}: runAsUser {pod.get('runAsUser')} is not its image's USER "
                         f"{facts.users.get(obj['metadata']['name'])}")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            found.append(f"{name}: seccompProfile must be RuntimeDefault")
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key):
                found.append(f"{name}: {key} must not be set")
        if spec.get("automountServiceAccountToken") is not False:
            found.append(f"{name}: automountServiceAccountToken must be false (mlpin never calls the API)")
        if spec.get("enableServiceLinks") is not False:
            found.append(f"{name}: enableServiceLinks must be false (a variable per Service beside the settings)")
        for container in containers(obj):
            context, where = container.get("securityContext", {}), f"{name} container {container['name']}"
            found += [f"{where}: securityContext.{key} overrides the pod's" for key in ("runAsUser", "runAsNonRoot")
                      if key in context and context[key] != pod.get(key)]
            for key, wanted in (("privileged", False), ("allowPrivilegeEscalation", False),
                                ("readOnlyRootFilesystem", True)):
                if context.get(key, False) is not wanted:
                    found.append(f"{where}: securityContext.{key} must be {str(wanted).lower()}")
            if context.get("capabilities", {}).get("drop") != ["ALL"] or context["capabilities"].get("add"):
                found.append(f"{where}: capabilities must drop ALL and add none")
    return found


def writable_paths(objects: list[dict], facts: Facts) -> list[str]:
    """Everything the processes write to is on a writable emptyDir mount (the root is read-only)."""
    found = []
    for obj in workloads(objects):
        volumes = {v["name"]: v for v in pod_spec(obj).get("volumes", [])}
        for container in containers(obj):
            mounts = [PurePosixPath(m["mountPath"]) for m in container.get("volumeMounts", [])
                      if not m.get("readOnly") and "emptyDir" in volumes.get(m["name"], {})]
            env = resolved_env(objects, container)
            for what, path in _written(container, env):
                pure = PurePosixPath(path)
                if not pure.is_absolute() or not any(pure == m or m in pure.parents for m in mounts):
                    found.append(f"{describe(obj)} container {container['name']}: {what} ({path}) is not on a "
                                 "writable emptyDir volumeMount")
    return found


def resources(objects: list[dict], facts: Facts) -> list[str]:
    """cpu and memory requests and limits on every container."""
    return [f"{describe(obj)} container {c['name']}: resources.{kind}.{res} is not set"
            for obj in objects for c in containers(obj)
            for kind in ("requests", "limits") for res in ("cpu", "memory")
            if res not in c.get("resources", {}).get(kind, {})]


def spread(objects: list[dict], facts: Facts) -> list[str]:
    """Serving replicas are spread over nodes and zones, counting only their own pods."""
    found = []
    for obj, _ in _served(objects):
        constraints = pod_spec(obj).get("topologySpreadConstraints", [])
        keys = {c["topologyKey"] for c in constraints}
        if not {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys:
            found.append(f"{describe(obj)}: topologySpreadConstraints must spread over hostname and zone")
        found += [f"{describe(obj)}: topology spread on {c['topologyKey']} selects other pods than its own"
                  for c in constraints if not _selects(c.get("labelSelector", {}), obj)]
    return found


def selectors(objects: list[dict], facts: Facts) -> list[str]:
    """The Deployment, PDB and Service select the serving pods; the Service targets their port."""
    found = []
    for obj, container in _served(objects):
        if not _selects(obj["spec"]["selector"], obj):
            found.append(f"{describe(obj)}: its selector does not match its pod template's labels")
        for pdb in (o for o in objects if o["kind"] == "PodDisruptionBudget"):
            if not _selects(pdb["spec"]["selector"], obj):
                found.append(f"{describe(pdb)}: selector does not match {describe(obj)}'s pods")
        for service in (o for o in objects if o["kind"] == "Service" and "selector" in o["spec"]):
            if not _selects({"matchLabels": service["spec"]["selector"]}, obj):
                found.append(f"{describe(service)}: selector does not match {describe(obj)}'s pods")
            ports = _ports(container)
            found += [f"{describe(service)}: targetPort {p['targetPort']!r} is not a port of {describe(obj)}"
                      for p in service["spec"]["ports"] if p["targetPort"] not in ports]
    return found


RULES = (probes, images, security, writable_paths, resources, spread, selectors)


def _written(container: dict, env: dict[str, str]) -> list[tuple[str, str]]:
    """(what, path) of every place the container's process writes to."""
    written = [("temporary files", "/tmp")]
    if "HOME" in env:
        written.append(("HOME", env["HOME"]))
    for key in ("MLPIN_CACHE_DIR", "MLPIN_WORK_DIR", "MLPIN_LOG_DIR"):
        if container.get("ports"):
            written.append((key, env.get(key, f"unset {key}")))
    if container.get("ports") and "MLFLOW_TRACKING_URI" not in env:
        written.append(("the embedded MLflow store (MLFLOW_TRACKING_URI unset)", ".mlpin"))
    command = container.get("command", [])
    if command[:2] == ["git", "clone"]:
        written.append(("the clone", command[-1]))
    if "--repo" in command:
        written.append(("the repository and its reports", command[command.index("--repo") + 1]))
    return written


def _served(objects: list[dict]) -> list[tuple[dict, dict]]:
    """(Deployment, its container with ports) for each serving workload."""
    return [(o, c) for o in objects if o["kind"] == "Deployment" for c in containers(o) if c.get("ports")]


def _ports(container: dict) -> set:
    """The names and numbers of a container's ports (a probe or Service may use either)."""
    return {p.get("name") for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}


def _selects(selector: dict, workload: dict) -> bool:
    labels = workload["spec"]["template"]["metadata"].get("labels", {})
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and not selector.get("matchExpressions") and wanted.items() <= labels.items()
