"""Rules for what the pods are told: only real settings and variables, values serving
accepts, every ConfigMap key used, only documented Secrets, and a CronJob that runs a real
`mlpin` command with the exit-code policy its codes call for."""

from __future__ import annotations

import contextlib
import io

from tests.deploy.facts import Facts
from tests.deploy.kustomize import containers, describe, pod_spec, workloads


def variables(objects: list[dict], facts: Facts) -> list[str]:
    """Only real settings and variables by name; values serving accepts; ConfigMap keys all there and all used."""
    found, used = [], set()
    for obj in workloads(objects):
        allowed = facts.serving_variables if obj["kind"] == "Deployment" else facts.drift_variables
        for container in containers(obj):
            where = f"{describe(obj)} container {container['name']}"
            for name, ref in _sources(objects, container):
                used.add(ref)  # None for literals and Secrets: never a ConfigMap key
                source = f"ConfigMap {ref[0]}" if ref else "env"
                if name.startswith("MLPIN_") and name not in allowed:
                    found.append(f"{where}: {name} ({source}) is not a setting mlpin reads there")
                elif ref and not name.startswith("MLPIN_") and name not in facts.config_variables:
                    found.append(f"{where}: {name} ({source}) is not a variable mlpin or MLflow reads")
                if ref and ref[1] not in _config_map(objects, ref[0]).get("data", {}):
                    found.append(f"{where}: {name} reads ConfigMap {ref[0]} key {ref[1]}, which it lacks")
            if obj["kind"] == "Deployment":
                found += _refused_settings(resolved_env(objects, container), where=where)
    for config in (o for o in objects if o["kind"] == "ConfigMap"):
        found += [f"{describe(config)}: key {key} is used by no container" for key in config.get("data", {})
                  if (config["metadata"]["name"], key) not in used]
    return found


def _refused_settings(env: dict[str, str], *, where: str) -> list[str]:
    """What serving's own settings model says about these MLPIN_* values ([] when it takes them)."""
    from pydantic import ValidationError

    from serving.settings import ServingSettings

    prefix = ServingSettings.model_config["env_prefix"]
    try:
        ServingSettings(**{k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)})
    except ValidationError as exc:
        return [f"{where}: serving refuses its settings: {exc}"]
    return []


def secrets(objects: list[dict], facts: Facts) -> list[str]:
    """Every Secret (and key) a container reads is one docs/kubernetes.md tells you to create."""
    found = []
    for obj in workloads(objects):
        for container in containers(obj):
            where = f"{describe(obj)} container {container['name']}"
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
        name, job = describe(obj), obj["spec"]["jobTemplate"]["spec"]
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


RULES = (variables, secrets, cronjob)


def resolved_env(objects: list[dict], container: dict) -> dict[str, str]:
    """The container's variables with literal or ConfigMap values (those from Secrets left out)."""
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


def _sources(objects: list[dict], container: dict) -> list[tuple[str, tuple[str, str] | None]]:
    """(variable, (ConfigMap, key) it comes from, or None for a literal or a Secret) of a container."""
    found: list[tuple[str, tuple[str, str] | None]] = []
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            config = source["configMapRef"]["name"]
            found += [(key, (config, key)) for key in _config_map(objects, config).get("data", {})]
    for entry in container.get("env", []):
        ref = entry.get("valueFrom", {}).get("configMapKeyRef")
        found.append((entry["name"], (ref["name"], ref["key"]) if ref else None))
    return found


def _config_map(objects: list[dict], name: str) -> dict:
    return next((o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name), {})
