"""Bringing the stack up, down, and reading its status: the order of things (PostgreSQL,
then MLflow and its users, then the replicas), idempotence (what runs is kept), and
cleaning up after a failed start (what this call started is stopped again)."""

from __future__ import annotations

import contextlib
import json
import socket
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.stack import mlflowserver, postgres, processes, replicas, users
from pipelines.stack.credentials import ensure_secret
from pipelines.stack.settings import HOST, StackError, StackSettings
from pipelines.stack.state import ProcessRecord, StackState, load_state, save_state


@dataclass(frozen=True)
class Stack:
    """One stack: its folder, the repository its replicas follow, and its settings."""

    stack_dir: Path
    repo: Path
    settings: StackSettings

    def secret(self, name: str) -> str:
        """A generated secret of this stack (made on first use, never printed)."""
        return ensure_secret(self.stack_dir, name)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:`port` (a closing connection's TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def choose_port(state: StackState, key: str, configured: int, *, setting: str) -> int:
    """The configured port, which must be free; for 0, the one this stack was given before if it is
    still free, else a free one. A taken configured port is a StackError naming the setting."""
    if configured:
        if not port_free(configured):
            raise StackError(f"{key}: port {configured} on {HOST} is already in use by another program: stop it, "
                             f"or set {setting} to another port (0: any free port)")
        return configured
    kept = state.ports.get(key)
    return kept if kept and port_free(kept) else free_port()


def up(stack: Stack, *, replica_count: int) -> tuple[StackState, list[str]]:
    """Start what is not running; returns the state and the names started by this call.
    One `up` or `down` at a time per stack folder (the others wait for `<dir>/.lock`)."""
    stack.stack_dir.mkdir(parents=True, exist_ok=True)
    with locked(stack.stack_dir):
        return _up(stack, replica_count=replica_count)


def _up(stack: Stack, *, replica_count: int) -> tuple[StackState, list[str]]:
    state = load_state(stack.stack_dir)
    started: list[ProcessRecord] = []
    try:
        bin_dir = postgres.usable_binaries()
        state = _keep_or_start(stack, state, "postgres", started,
                               lambda s, rec: _start_postgres(stack, s, rec, bin_dir))
        state = _keep_or_start(stack, state, "mlflow", started, lambda s, rec: _start_mlflow(stack, s, rec))
        _ensure_users(stack, state)
        state = _stop_extra_replicas(stack, state, replica_count)
        for index in range(replica_count):
            state = _keep_or_start(stack, state, replicas.replica_name(index), started,
                                   lambda s, rec, i=index: _start_replica(stack, s, rec, i))
    except BaseException:
        for record in reversed(started):
            with contextlib.suppress(StackError, OSError):  # stop the others even if one refuses; raise the cause
                _stop(stack, record)
        state = load_state(stack.stack_dir)
        save_state(stack.stack_dir, StackState(processes=[p for p in state.processes if p not in started],
                                               ports=state.ports))
        raise
    return state, [p.name for p in started]


@contextlib.contextmanager
def locked(stack_dir: Path) -> Iterator[None]:
    """Hold `<dir>/.lock` (flock, released when this process ends however it ends)."""
    import fcntl

    with (stack_dir / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


Record = Callable[[ProcessRecord, int], None]


def _keep_or_start(stack: Stack, state: StackState, name: str, started: list[ProcessRecord],
                   start: Callable[[StackState, Record], None]) -> StackState:
    """Keep `name` when its recorded process runs, else start it. `start` calls its `record` as soon as
    the process exists, before waiting for it to be ready, so that a failed or killed `up` leaves
    nothing that `down` cannot find."""
    found = state.find(name)
    if found is not None and processes.alive(found):
        return state
    current = state

    def record(process: ProcessRecord, port: int) -> None:
        nonlocal current
        started.append(process)
        others = [p for p in current.processes if p.name != name]
        current = StackState(processes=[*others, process], ports={**current.ports, name: port})
        save_state(stack.stack_dir, current)

    start(state, record)
    return current


def _start_postgres(stack: Stack, state: StackState, record: Record, bin_dir: Path) -> None:
    port = choose_port(state, "postgres", stack.settings.pg_port, setting="MLPIN_STACK_PG_PORT")
    cluster = stack.stack_dir / "postgres"
    password = stack.secret("postgres.password")
    postgres.prepare_folder(cluster)
    postgres.init_cluster(bin_dir, cluster, password=password)
    record(postgres.start_cluster(bin_dir, cluster, port=port), port)
    postgres.ensure_databases(port, password=password, names=mlflowserver.DATABASES)


def _start_mlflow(stack: Stack, state: StackState, record: Record) -> None:
    port = choose_port(state, "mlflow", stack.settings.mlflow_port, setting="MLPIN_STACK_MLFLOW_PORT")
    pg_port = state.ports["postgres"]
    ini = stack.stack_dir / "mlflow" / "auth.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    ini.write_text(mlflowserver.auth_ini(pg_port=pg_port))
    artifacts = stack.settings.artifacts_destination or str(stack.stack_dir / "artifacts")
    env = mlflowserver.server_env(auth_ini_path=ini, db_password=stack.secret("postgres.password"),
                                  admin_password=stack.secret("admin.password"), flask_key=stack.secret("flask.key"))
    argv = mlflowserver.server_argv(port=port, pg_port=pg_port, artifacts_destination=artifacts,
                                    workers=stack.settings.mlflow_workers)
    process = processes.spawn("mlflow", argv, env=env, log_path=ini.parent / "server.log", url=f"http://{HOST}:{port}")
    record(process, port)
    processes.wait_ready(process, lambda: processes.http_ok(mlflowserver.health_url(port)),
                         timeout=stack.settings.timeout_s)


def _ensure_users(stack: Stack, state: StackState) -> None:
    passwords = {role.user: stack.secret(f"{role.user}.password") for role in users.ROLES}
    try:
        users.ensure_users(state.find("mlflow").url, admin=(mlflowserver.ADMIN, stack.secret("admin.password")),
                           passwords=passwords)
    except Exception as exc:  # MLflow's client raises its own and requests' errors
        raise StackError(f"creating MLflow's users failed: {exc}") from exc


def _start_replica(stack: Stack, state: StackState, record: Record, index: int) -> None:
    name = replicas.replica_name(index)
    port = choose_port(state, name, stack.settings.serving_port and stack.settings.serving_port + index,
                       setting="MLPIN_STACK_SERVING_PORT")
    folder = stack.stack_dir / "replicas" / str(index)
    env = replicas.replica_env(folder, pin_uri=stack.settings.pin_uri or str(stack.repo),
                               branch=stack.settings.branch, poll_interval_s=stack.settings.poll_interval_s,
                               tracking_uri=state.find("mlflow").url,
                               reader=(users.SERVING.user, stack.secret(f"{users.SERVING.user}.password")),
                               webhook_secret=stack.secret("webhook.secret"))
    url = replicas.replica_url(port)
    process = processes.spawn(name, replicas.replica_argv(port), env=env, log_path=folder / "serving.log", url=url)
    record(process, port)
    processes.wait_ready(process, lambda: processes.http_ok(f"{url}/healthz"), timeout=stack.settings.timeout_s)


def _stop_extra_replicas(stack: Stack, state: StackState, count: int) -> StackState:
    wanted = {replicas.replica_name(i) for i in range(count)}
    extra = [p for p in state.replicas() if p.name not in wanted]
    for record in extra:
        processes.stop(record)
    state = StackState(processes=[p for p in state.processes if p not in extra], ports=state.ports)
    save_state(stack.stack_dir, state)
    return state


def down(stack: Stack) -> list[tuple[str, bool]]:
    """Stop every recorded process, last started first; (name, was it running) for each."""
    if not stack.stack_dir.is_dir():
        return []
    with locked(stack.stack_dir):
        return _down(stack)


def _down(stack: Stack) -> list[tuple[str, bool]]:
    state = load_state(stack.stack_dir)
    stopped = [(record.name, _stop(stack, record)) for record in reversed(state.processes)]
    save_state(stack.stack_dir, StackState(ports=state.ports))
    return stopped


def _stop(stack: Stack, record: ProcessRecord) -> bool:
    if record.name != "postgres":
        return processes.stop(record)
    if not processes.alive(record):
        return False
    postgres.stop_cluster(postgres.find_binaries(), stack.stack_dir / "postgres")
    return True


def status(stack: Stack) -> list[tuple[ProcessRecord, bool, dict[str, str]]]:
    """Each recorded process, whether it runs, and for a replica what its /status says per model."""
    found = []
    for record in load_state(stack.stack_dir).processes:
        running = processes.alive(record)
        models = _replica_models(record.url) if running and record.name.startswith("replica-") else {}
        found.append((record, running, models))
    return found


def _replica_models(url: str) -> dict[str, str]:
    with contextlib.suppress(OSError, ValueError):
        with urllib.request.urlopen(f"{url}/status", timeout=5) as answer:  # noqa: S310 (loopback)
            return replicas.live_versions(json.load(answer))
    return {"status": "unreachable"}
