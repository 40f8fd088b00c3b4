"""Three real serving replicas reading the pin from a bare git origin converge on it: within
2 s of deploy's fanned-out webhook, within one poll interval without it; a replica started
during the change comes up on the new version; `mlpin replicas` says who has converged."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from pipelines.adapters.webhook import notify
from pipelines.cli import main as mlpin
from tests.helpers import git, pin, wait_until
from tests.serving.helpers import (
    MODEL,
    PROCESS_STARTUP_SECONDS,
    ROW,
    SECRET,
    TOKEN,
    Trained,
    answers_ready,
    process_env,
    serving_processes,
)

POLL_S = 3.0  # the replicas' poll interval, without jitter: the bound of convergence without a webhook
SLACK_S = 2.0  # a pass on a shared 2-core machine: git fetch, download, load, smoke test


def test_three_replicas_converge_on_promotion_and_revert(trained: Trained, tmp_path: Path, capsys) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(trained.root), str(origin))
    envs = [_replica_env(trained, tmp_path / f"r{i}", origin, poll_s=POLL_S) for i in range(3)]
    late_env = _replica_env(trained, tmp_path / "late", origin, poll_s=300)
    with serving_processes(envs) as replicas:
        urls = [url for _, url in replicas]
        assert [_version(u) for u in urls] == [1, 1, 1]

        promoted = _push(trained, origin, **{MODEL: trained.entries["v2"]})
        with serving_processes([late_env], ready=False) as [(late, late_url)]:  # started during the change
            sent = time.monotonic()
            environ = {"MLPIN_DEPLOY_WEBHOOK_URL": ",".join(f"{u}/webhook" for u in urls),
                       "MLPIN_WEBHOOK_SECRET": SECRET}
            calls = notify(environ, event={"commit": promoted, "models": {MODEL: 2}, "pr": None})
            assert [c.result for c in calls] == ["sent: HTTP 202"] * 3
            wait_until(lambda: [_version(u) for u in urls] == [2, 2, 2], timeout=2 - (time.monotonic() - sent))
            wait_until(lambda: answers_ready(late_url, late), timeout=PROCESS_STARTUP_SECONDS)
            assert _version(late_url) == 2, "a replica started during the change comes up on the new version"

            git(trained.root, "revert", "--no-edit", "HEAD")  # the rollback, with no webhook this time
            git(trained.root, "push", "-q", str(origin), "HEAD:main")
            reverted = time.monotonic()
            wait_until(lambda: [_version(u) for u in urls] == [1, 1, 1], timeout=POLL_S + SLACK_S)
            assert time.monotonic() - reverted < POLL_S + SLACK_S

            code, out = _replicas(capsys, trained, *urls)
            assert (code, out.splitlines()[-1]) == (0, "converged: 3/3"), out
            code, out = _replicas(capsys, trained, *urls, late_url)  # its poll is 300 s away: it lags on v2
            assert (code, out.splitlines()[-1]) == (3, f"converged: 3/4 (not: {late_url})"), out
            assert f"{late_url} (pin {promoted[:12]}, Ready): not converged: {MODEL} serves v2, desired v1" in out
            code, out = _replicas(capsys, trained, *urls, late_url, "--json")
            verdicts = {o["url"]: o["converged"] for o in json.loads(out)["outcomes"]}
            assert verdicts == {**dict.fromkeys(urls, True), late_url: False}


def _replica_env(trained: Trained, state: Path, origin: Path, *, poll_s: float) -> dict[str, str]:
    return process_env(trained, state, MLPIN_PIN_URI=str(origin), MLPIN_WEBHOOK_SECRET=SECRET,
                       MLPIN_ADMIN_TOKEN=TOKEN, MLPIN_POLL_INTERVAL_S=str(poll_s), MLPIN_POLL_JITTER="0")


def _push(trained: Trained, origin: Path, **models: dict) -> str:
    """Commit a pin on the shared repository and push it to the origin the replicas read."""
    commit = pin(trained.root, **models)
    git(trained.root, "push", "-q", str(origin), "HEAD:main")
    return commit


def _version(url: str) -> int:
    """The version that answers a prediction on this replica."""
    response = httpx.post(f"{url}/predict/{MODEL}", json=[ROW], timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["version"]


def _replicas(capsys, trained: Trained, *urls: str) -> tuple[int, str]:
    """`mlpin replicas` in the shared repository (desired: its checked-out pin): exit code and stdout."""
    flags = [a for a in urls if a.startswith("--")]
    args = [arg for url in urls if not url.startswith("--") for arg in ("--url", url)]
    capsys.readouterr()
    code = mlpin(["replicas", "--repo", str(trained.root), "-q", *args, *flags])
    return code, capsys.readouterr().out
