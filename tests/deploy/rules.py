"""Rules the rendered manifests must keep, each a function from objects to problems.

Schemas say a manifest is well-formed; these say it fits mlpin: probes on routes the real
app serves, a pinned image tag, a restricted pod that can still write where serving writes,
selectors that find the pods, only real settings and documented Secrets, and a CronJob that
runs a real `mlpin` command. Each returns sentences naming the object and what to fix, so a
test can show both that the manifests pass and that a broken copy is caught.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import PurePosixPath

from tests.deploy.kustomize import containers, pod_spec, split_image


@dataclass(frozen=True)
class Facts:
    """What the rules compare the manifests with, read from the code and the docs."""

    get_routes: frozenset[str]  # GET paths of the real serving app
    serving_variables: frozenset[str]  # MLPIN_* names ServingSettings reads, plus the git token
    drift_variables: frozenset[str]  # MLPIN_* names `mlpin drift check` and git read
    config_variables: frozenset[str]  # other names a ConfigMap may hold (MLflow's, GitHub's)
    secrets: dict[str, frozenset[str]]  # Secret name -> keys, as docs/kubernetes.md creates them
    users: dict[str, int]  # workload name -> the USER of its image's Dockerfile


def problems(objects: list[dict], facts: Facts) -> list[str]:
    """Every rule's problems with these objects."""
    return [p for rule in RULES for p in rule(objects, facts)]


def probes(objects: list[dict], facts: Facts) -> list[str]:
    """Readiness on /readyz, liveness on /healthz, every probe on a real route and a declared port."""
    found = []
    for obj, container in _served(objects):
        where = f"{_name(obj)} container {container['name']}"
        ports = {p.get("name") for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
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
                found.append(f"{_name(obj)} container {container['name']}: image {container['image']} needs a "
                             "pinned tag (not latest)")
    return found


def security(objects: list[dict], facts: Facts) -> list[str]:
    """Non-root as the image's user, no privilege escalation, read-only root, no capabilities."""
    found = []
    for obj in _workloads(objects):
        spec, name = pod_spec(obj), _name(obj)
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
        for container in containers(obj):
            context, where = container.get("securityContext", {}), f"{name} container {container['name']}"
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
    for obj in _workloads(objects):
        volumes = {v["name"]: v for v in pod_spec(obj).get("volumes", [])}
        for container in containers(obj):
            mounts = [PurePosixPath(m["mountPath"]) for m in container.get("volumeMounts", [])
                      if not m.get("readOnly") and "emptyDir" in volumes.get(m["name"], {})]
            env = resolved_env(objects, container)
            for what, path in _written(container, env):
                pure = PurePosixPath(path)
                if not pure.is_absolute() or not any(pure == m or m in pure.parents for m in mounts):
                    found.append(f"{_name(obj)} container {container['name']}: {what} ({path}) is not on a "
                                 "writable emptyDir volumeMount")
    return found


def resources(objects: list[dict], facts: Facts) -> list[str]:
    """cpu and memory requests and limits on every container."""
    return [f"{_name(obj)} container {c['name']}: resources.{kind}.{res} is not set"
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
            found.append(f"{_name(obj)}: topologySpreadConstraints must spread over hostname and zone")
        found += [f"{_name(obj)}: topology spread on {c['topologyKey']} selects other pods than its own"
                  for c in constraints if not _selects(c.get("labelSelector", {}), obj)]
    return found


def selectors(objects: list[dict], facts: Facts) -> list[str]:
    """The Deployment, PDB and Service select the serving pods; the Service targets their port."""
    found = []
    for obj, container in _served(objects):
        if not _selects(obj["spec"]["selector"], obj):
            found.append(f"{_name(obj)}: its selector does not match its pod template's labels")
        for pdb in (o for o in objects if o["kind"] == "PodDisruptionBudget"):
            if not _selects(pdb["spec"]["selector"], obj):
                found.append(f"{_name(pdb)}: selector does not match {_name(obj)}'s pods")
        for service in (o for o in objects if o["kind"] == "Service" and "selector" in o["spec"]):
            if not _selects({"matchLabels": service["spec"]["selector"]}, obj):
                found.append(f"{_name(service)}: selector does not match {_name(obj)}'s pods")
            ports = {p.get("name") for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
            found += [f"{_name(service)}: targetPort {p['targetPort']!r} is not a port of {_name(obj)}"
                      for p in service["spec"]["ports"] if p["targetPort"] not in ports]
    return found


def variables(objects: list[dict], facts: Facts) -> list[str]:
    """Only real settings and variables by name; values serving accepts; ConfigMap keys all used."""
    from pydantic import ValidationError

    from serving.settings import ServingSettings

    found, used = [], set()
    for obj in _workloads(objects):
        allowed = facts.serving_variables if _is_serving(obj) else facts.drift_variables
        for container in containers(obj):
            where = f"{_name(obj)} container {container['name']}"
            for name, source in _names(objects, container, used, found, where=where):
                if name.startswith("MLPIN_") and name not in allowed:
                    found.append(f"{where}: {name} ({source}) is not a setting mlpin reads there")
                elif source.startswith("ConfigMap") and not name.startswith("MLPIN_") \
                        and name not in facts.config_variables:
                    found.append(f"{where}: {name} ({source}) is not a variable mlpin or MLflow reads")
            if _is_serving(obj):
                env = {k: v for k, v in resolved_env(objects, container).items() if k.startswith("MLPIN_")}
                try:
                    ServingSettings(**{k.removeprefix("MLPIN_").lower(): v for k, v in env.items()})
                except ValidationError as exc:
                    found.append(f"{where}: serving refuses its settings: {exc}")
    for config in (o for o in objects if o["kind"] == "ConfigMap"):
        found += [f"{_name(config)}: key {key} is used by no container" for key in config.get("data", {})
                  if (config["metadata"]["name"], key) not in used]
    return found


def secrets(objects: list[dict], facts: Facts) -> list[str]:
    """Every Secret (and key) a container reads is one docs/kubernetes.md tells you to create."""
    found = []
    for obj in _workloads(objects):
        for container in containers(obj):
            where = f"{_name(obj)} container {container['name']}"
            for source in container.get("envFrom", []):
                name = source.get("secretRef", {}).get("name")
                if name is not None and name not in facts.secrets:
                    found.append(f"{where}: Secret {name} is not documented in docs/kubernetes.md")
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None and ref["key"] not in facts.secrets.get(ref["name"], ()):
                    found.append(f"{where}: {entry['name']} reads Secret {ref['name']} key {ref['key']}, "
                                 "which docs/kubernetes.md does not create")
    return found


def cronjob(objects: list[dict], facts: Facts) -> list[str]:
    """The drift CronJob runs `mlpin drift check`, never twice at once, and retries only outages."""
    from pipelines.cli import EXIT_CODES, build_parser
    from pipelines.core.outcome import Kind

    found = []
    for obj in (o for o in objects if o["kind"] == "CronJob"):
        name, job = _name(obj), obj["spec"]["jobTemplate"]["spec"]
        if obj["spec"].get("concurrencyPolicy") != "Forbid":
            found.append(f"{name}: concurrencyPolicy must be Forbid (two checks would race on an issue)")
        main = pod_spec(obj)["containers"][0]
        command = [*main.get("command", []), *main.get("args", [])]
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                args = build_parser().parse_args(command[1:])
            real = command[0] == "mlpin" and (args.command, getattr(args, "drift_command", None)) == ("drift", "check")
        except SystemExit:
            real = False
        if not real:
            found.append(f"{name}: {' '.join(command)} is not `mlpin drift check` as pipelines/cli.py parses it")
        rules = job.get("podFailurePolicy", {}).get("rules", [])
        final = {code for r in rules if r["action"] == "FailJob" for code in r.get("onExitCodes", {}).get("values", [])}
        wanted = {EXIT_CODES[Kind.BUG], EXIT_CODES[Kind.INVALID_INPUT], EXIT_CODES[Kind.BLOCKED]}
        if final != wanted:
            found.append(f"{name}: podFailurePolicy must fail the Job at once on exit codes {sorted(wanted)} "
                         f"(and retry {EXIT_CODES[Kind.OUTSIDE_SYSTEM]}), not {sorted(final)}")
        names = {c["name"] for c in pod_spec(obj)["containers"]}
        found += [f"{name}: podFailurePolicy names container {r['onExitCodes']['containerName']}, which it lacks"
                  for r in rules if r.get("onExitCodes", {}).get("containerName", main["name"]) not in names]
    return found


RULES = (probes, images, security, writable_paths, resources, spread, selectors, variables, secrets, cronjob)


def resolved_env(objects: list[dict], container: dict) -> dict[str, str]:
    """The container's variables with literal or ConfigMap values (Secrets and optional refs left out)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= _config_map(objects, source["configMapRef"]["name"]).get("data", {})
    for entry in container.get("env", []):
        ref = entry.get("valueFrom", {}).get("configMapKeyRef")
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif ref is not None:
            env[entry["name"]] = _config_map(objects, ref["name"]).get("data", {}).get(ref["key"], "")
    return env


def _names(objects: list[dict], container: dict, used: set, found: list, *, where: str):
    """(variable name, where its value comes from) of a container; records ConfigMap keys used."""
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            config = source["configMapRef"]["name"]
            for key in _config_map(objects, config).get("data", {}):
                used.add((config, key))
                yield key, f"ConfigMap {config}"
    for entry in container.get("env", []):
        ref = entry.get("valueFrom", {}).get("configMapKeyRef")
        if ref is not None:
            used.add((ref["name"], ref["key"]))
            if ref["key"] not in _config_map(objects, ref["name"]).get("data", {}):
                found.append(f"{where}: {entry['name']} reads ConfigMap {ref['name']} key {ref['key']}, "
                             "which it lacks")
        yield entry["name"], f"ConfigMap {ref['name']}" if ref else "env"


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


def _workloads(objects: list[dict]) -> list[dict]:
    return [o for o in objects if pod_spec(o) is not None]


def _is_serving(obj: dict) -> bool:
    return obj["kind"] == "Deployment"


def _selects(selector: dict, workload: dict) -> bool:
    labels = workload["spec"]["template"]["metadata"].get("labels", {})
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and not selector.get("matchExpressions") and wanted.items() <= labels.items()


def _config_map(objects: list[dict], name: str) -> dict:
    return next((o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name), {})


def _name(obj: dict) -> str:
    return f"{obj['kind']} {obj['metadata']['name']}"
