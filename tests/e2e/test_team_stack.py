"""The loop against the team stack (`scripts/stack up`): PostgreSQL, MLflow's tracking server
with basic-auth, two serving replicas following the pin in `origin`. Pull-request jobs run
as their own read-only user (`mlpin-pr`), trusted jobs as the writer, exactly as the
workflows pass the credentials; the replicas as `mlpin-serving`.

Skips, saying why, when PostgreSQL's server programs are not installed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.adapters.localforge import LocalForge
from pipelines.cli import main
from tests.e2e.helpers import MODEL, Credentials, Loop, bare_origin
from tests.helpers import PROJECT, commit_all, entry, git, isolate_environ, make_repo, pin, wait_until
from tests.stack.helpers import postgres_folder

OTHER_MODELS = ("breast_cancer_rf", "diabetes_hgb")  # the loop follows one model; fewer trainings, same paths


@dataclass(frozen=True)
class TeamStack:
    """A running stack and what a test needs of it."""

    tracking_uri: str
    credentials: Credentials
    replica_urls: list[str]
    webhook_secret: str
    origin: Path
    stack_dir: Path
    admin: tuple[str, str]


@pytest.fixture(scope="module")
def team_stack() -> Iterator[TeamStack]:
    """`python -m pipelines.stack up --replicas 2` on free ports in a fresh folder; `down` after."""
    from pipelines.stack.cli import main as stack

    folder = postgres_folder("mlpin-stack-", needed_by="the team stack")
    with pytest.MonkeyPatch.context() as mp:
        (folder / "home").mkdir()
        isolate_environ(mp, folder / "home")
        origin = _origin(folder)
        settings = _settings(folder, origin)
        for name, value in settings.items():
            mp.setenv(name, value)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                assert stack(["--repo", str(origin), "up", "--replicas", "2"]) == 0
            yield _running(folder / "stack", origin)
        finally:
            try:
                recorded = _recorded_processes(folder / "stack")
                with contextlib.redirect_stdout(printed):
                    stack(["--repo", str(origin), "down"])
                _assert_all_stopped(folder / "stack", recorded)
                _assert_no_secret_shown(folder / "stack", printed.getvalue())
            finally:
                shutil.rmtree(folder, ignore_errors=True)


def _settings(folder: Path, origin: Path) -> dict[str, str]:
    """The stack's MLPIN_STACK_* settings (each test's autouse fixture clears MLPIN_*: set them again)."""
    return {f"MLPIN_STACK_{name}": str(value) for name, value in {
        "DIR": folder / "stack", "PG_PORT": 0, "MLFLOW_PORT": 0, "SERVING_PORT": 0, "PIN_URI": origin,
        "POLL_INTERVAL_S": 1, "MLFLOW_WORKERS": 2}.items()}


def _origin(folder: Path) -> Path:
    seed = make_repo(folder / "seed")
    for name in OTHER_MODELS:
        (seed / "models" / f"{name}.yaml").unlink()
    commit_all(seed, "only wine_logreg")
    return bare_origin(folder, seed)


def _running(stack_dir: Path, origin: Path) -> TeamStack:
    from pipelines.stack.state import load_state

    state = load_state(stack_dir)
    secret = {name: (stack_dir / "secrets" / name).read_text().strip()
              for name in ("mlpin-writer.password", "mlpin-pr.password", "admin.password", "webhook.secret")}
    return TeamStack(tracking_uri=state.find("mlflow").url,
                     credentials=Credentials(writer=("mlpin-writer", secret["mlpin-writer.password"]),
                                             reader=("mlpin-pr", secret["mlpin-pr.password"])),
                     replica_urls=[r.url for r in state.replicas()], webhook_secret=secret["webhook.secret"],
                     origin=origin, stack_dir=stack_dir, admin=("admin", secret["admin.password"]))


def _stack_pids(stack_dir: Path) -> set[int]:
    """Every process whose command line or environment names the stack's folder (replicas, MLflow and
    its workers carry it in their environment; PostgreSQL on its command line), this one excepted."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if str(stack_dir).encode() in (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes():
                found.add(int(proc.name))
    return found


def _recorded_processes(stack_dir: Path) -> set[int]:
    """The recorded processes' pids, checked to be seen by `_stack_pids` (else the leak check proves nothing)."""
    from pipelines.stack.state import load_state

    recorded = {p.pid for p in load_state(stack_dir).processes}
    seen = _stack_pids(stack_dir)
    assert recorded <= seen and len(seen) > len(recorded), "the leak check does not see the stack's processes"
    return recorded


def _assert_all_stopped(stack_dir: Path, recorded: set[int]) -> None:
    from pipelines.stack.processes import group_alive
    from pipelines.stack.state import load_state

    assert load_state(stack_dir).processes == [], "down forgets what it stopped"
    assert not [pid for pid in recorded if group_alive(pid)], "a recorded process group outlived `down`"
    assert _stack_pids(stack_dir) == set(), "a process of the stack outlived `down`"


def _assert_no_secret_shown(stack_dir: Path, printed: str) -> None:
    """No password, key or webhook secret in what `up`/`down` printed or in any process's log."""
    secrets = {p.name: p.read_text().strip() for p in (stack_dir / "secrets").iterdir()}
    assert "export MLFLOW_TRACKING_PASSWORD=\"$(cat " in printed
    shown = [printed, *(p.read_text(errors="replace") for p in stack_dir.rglob("*.log"))]
    leaked = [name for name, value in secrets.items() if any(value in text for text in shown)]
    assert leaked == [], f"printed or logged: {leaked}"


@pytest.fixture
def on_stack(team_stack: TeamStack, monkeypatch: pytest.MonkeyPatch) -> TeamStack:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", team_stack.tracking_uri)
    return team_stack


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def _live(url: str) -> int | None:
    found = {m["model"]: m for m in _get(f"{url}/status")["models"]}
    return found.get(MODEL, {}).get("live_version")


def _serve(stack: TeamStack, version: int) -> None:
    """Every replica reports `version` live and answers a prediction with it."""
    wait_until(lambda: all(_live(url) == version for url in stack.replica_urls), timeout=40)
    for url in stack.replica_urls:
        (model,) = [m for m in _get(f"{url}/models") if m["name"] == MODEL]
        request = urllib.request.Request(f"{url}/predict/{MODEL}", data=json.dumps(model["example"]).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.load(answer)["version"] == version


def test_the_loop_against_the_team_stack(on_stack: TeamStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    loop = Loop(tmp_path, on_stack.origin, monkeypatch, capsys, credentials=on_stack.credentials)
    # deploy calls one replica's webhook; the other converges by polling
    monkeypatch.setenv("MLPIN_DEPLOY_WEBHOOK_URL", f"{on_stack.replica_urls[0]}/webhook")
    monkeypatch.setenv("MLPIN_WEBHOOK_SECRET", on_stack.webhook_secret)

    first_pr, v1 = loop.promote("first", "2026-01-05T10:00:00+00:00")
    loop.merge(first_pr, "2026-01-05T11:00:00+00:00")
    loop.deploy()
    assert loop.alias() == v1 == loop.pinned()
    _serve(on_stack, v1)

    second_pr, v2 = loop.promote("second", "2026-02-01T10:00:00+00:00")
    promotion_merge = loop.merge(second_pr, "2026-02-01T11:00:00+00:00")
    loop.deploy()
    assert loop.alias() == v2 > v1
    _serve(on_stack, v2)

    git(loop.dev, "pull", "-q", "--ff-only")
    git(loop.dev, "revert", "--no-edit", "-m", "1", promotion_merge)
    git(loop.dev, "push", "-q", "origin", "main")
    loop.deploy()
    assert loop.alias() == v1 == loop.pinned()
    _serve(on_stack, v1)
    code, asked = loop.mlpin(loop.runner, "replicas", *(f"--url={url}" for url in on_stack.replica_urls))
    assert code == 0, asked


def test_concurrent_candidates_back_to_back_deploys_and_a_refused_reader(
        on_stack: TeamStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    loop = Loop(tmp_path, _origin(tmp_path), monkeypatch, capsys, credentials=on_stack.credentials)
    trained = []
    for _ in range(2):
        code, result = loop.mlpin(loop.runner, "train", MODEL)
        assert code == 0, result
        trained.append(result)
    first = pin(loop.runner, **{MODEL: entry(trained[0])})
    git(loop.runner, "push", "-q", "origin", "HEAD:main")
    git(loop.dev, "fetch", "-q")
    prs = [loop.open_pr(f"pr-{name}", name) for name in ("Alpha", "Beta")]

    # two PR jobs at once, each in its own clone, as the PR jobs' user: they change nothing in MLflow
    before = _snapshot(on_stack)
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "MLFLOW_TRACKING_USERNAME": on_stack.credentials.reader[0],
           "MLFLOW_TRACKING_PASSWORD": on_stack.credentials.reader[1]}
    jobs = []
    for pr, name in zip(prs, ("Alpha", "Beta"), strict=True):
        clone = tmp_path / f"job-{name}"
        git(tmp_path, "clone", "-q", "--no-single-branch", str(loop.origin), str(clone))
        git(clone, "checkout", "-q", f"pr-{name}")
        jobs.append(subprocess.Popen([sys.executable, "-m", "pipelines.cli", "candidate", "--base", "origin/main",
                                      "--pr", str(pr), "--repo", str(clone), "--json", "--quiet"],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for job in jobs:
        out, err = job.communicate(timeout=120)
        assert job.returncode == 0, err
        assert [o["outcome"] for o in json.loads(out)["outcomes"]] == ["passed"], out
    assert _snapshot(on_stack) == before, "a pull-request job wrote to MLflow"
    for pr in prs:
        (comment,) = LocalForge(loop.runner, folder=loop.forge_dir).comments(pr)
        assert comment.read_text().startswith(f"<!-- mlpin:candidate:{MODEL} -->")

    # two pin changes, deployed back to back as the writer
    second = pin(loop.runner, **{MODEL: entry(trained[1])})
    git(loop.runner, "push", "-q", "origin", "HEAD:main")
    loop.deploy(first)
    loop.deploy()
    versions = [t["version"] for t in trained]
    assert loop.alias() == versions[1] == loop.pinned(), "the alias equals the final pin"
    from pipelines.adapters.registry import Registry

    for result, deployed in zip(trained, (first, second), strict=True):
        tags = Registry(loop.runner).version_tags(MODEL, result["version"])
        assert tags["mlpin.deployed_commit"] == deployed
        assert {tags[f"mlpin.{k}"] for k in ("spec_hash", "data_sha256", "artifact_sha256")} == \
            {result[k] for k in ("spec_hash", "data_sha256", "artifact_sha256")}, "no lineage tag lost"

    # the reader's credentials cannot move the alias: a clear error naming the permission, nothing changed
    pin(loop.runner, **{MODEL: entry(trained[0])})
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", on_stack.credentials.reader[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", on_stack.credentials.reader[1])
    capsys.readouterr()
    assert main(["deploy", "--repo", str(loop.runner), "--json", "--quiet"]) == 2
    refused = json.dumps(json.loads(capsys.readouterr().out))
    assert "mlpin-pr" in refused and "EDIT permission" in refused and "Traceback" not in refused
    assert loop.alias() == versions[1]


def _api(stack: TeamStack, method: str, route: str, *, auth: tuple[str, str], **kwargs):
    import requests

    return requests.request(method, f"{stack.tracking_uri}/api/2.0/mlflow/{route}", auth=auth, timeout=30, **kwargs)


def _snapshot(stack: TeamStack) -> dict:
    """What the writer sees: every experiment, run, registered model and version, with update times."""
    writer = stack.credentials.writer
    experiments = _api(stack, "POST", "experiments/search", auth=writer,
                       json={"max_results": 1000, "view_type": "ALL"}).json().get("experiments", [])
    ids = [e["experiment_id"] for e in experiments]
    runs = _api(stack, "POST", "runs/search", auth=writer, json={"experiment_ids": ids, "max_results": 1000,
                                                                   "run_view_type": "ALL"}).json().get("runs", [])
    models = _api(stack, "GET", "registered-models/search", auth=writer,
                  params={"max_results": 1000}).json().get("registered_models", [])
    versions = _api(stack, "GET", "model-versions/search", auth=writer,
                    params={"max_results": 1000}).json().get("model_versions", [])
    return {"experiments": experiments, "runs": runs, "models": models, "versions": versions}


def test_the_pr_user_can_change_nothing_and_up_restores_every_user(on_stack: TeamStack,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Code from a pull request holds mlpin-pr's password: it may read, and nothing else, not even its own
    password. Whatever an admin changed by hand, the next `up` sets the users back."""
    from pipelines.stack.cli import main as stack
    from pipelines.stack.users import PR, SERVING, WORKSPACE, _as_admin

    pr = on_stack.credentials.reader
    writer = on_stack.credentials.writer
    assert _api(on_stack, "POST", "registered-models/create", auth=writer, json={"name": "pr-target"}).ok
    before = _snapshot(on_stack)
    attempts = {
        "create an experiment": ("POST", "experiments/create", {"name": "from-a-pr"}),
        "create a model": ("POST", "registered-models/create", {"name": "from-a-pr"}),
        "tag a model": ("POST", "registered-models/set-tag", {"name": "pr-target", "key": "k", "value": "v"}),
        "rename a model": ("POST", "registered-models/rename", {"name": "pr-target", "new_name": "pr-renamed"}),
        "create a run": ("POST", "runs/create", {"experiment_id": "0"}),
        "change its own password": ("PATCH", "users/update-password",
                                    {"username": pr[0], "password": "locked-out-123456", "current_password": pr[1]}),
    }
    answers = {what: _api(on_stack, method, route, auth=pr, json=body).status_code
               for what, (method, route, body) in attempts.items()}
    assert answers == dict.fromkeys(attempts, 403)
    assert _snapshot(on_stack) == before
    assert _api(on_stack, "GET", "registered-models/search", auth=pr).status_code == 200, "its password changed"

    # an admin locks the PR user out and widens its role; `up` (all running) puts both back
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow.server.auth.client import AuthServiceClient
    with _as_admin(*on_stack.admin):
        client = AuthServiceClient(on_stack.tracking_uri)
        client.update_user_password(pr[0], "changed-by-hand-123456")
        role = next(r for r in client.list_roles(WORKSPACE) if r.name == PR.user)
        for grant in client.list_role_permissions(role.id):
            client.update_role_permission(grant.id, "MANAGE")
        client.add_role_permission(role.id, "experiment", "pr-*", "EDIT")
    for name, value in _settings(on_stack.stack_dir.parent, on_stack.origin).items():
        monkeypatch.setenv(name, value)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert stack(["--repo", str(on_stack.origin), "up", "--replicas", "2"]) == 0
    assert "already up" in printed.getvalue(), "the same stack, nothing started"
    assert _api(on_stack, "GET", "registered-models/search", auth=pr).status_code == 200
    with _as_admin(*on_stack.admin):
        granted = {(p.resource_type, p.resource_pattern, p.permission)
                   for p in AuthServiceClient(on_stack.tracking_uri).list_role_permissions(role.id)}
    assert granted == set(PR.grants)

    # the replicas read MLflow as serving's own user, never as the PR jobs'
    from pipelines.stack.state import load_state

    for replica in load_state(on_stack.stack_dir).replicas():
        environ = Path(f"/proc/{replica.pid}/environ").read_bytes().split(b"\0")
        assert f"MLFLOW_TRACKING_USERNAME={SERVING.user}".encode() in environ, replica.name
