"""How fast N serving replicas converge on a new pin: by deploy's webhook fan-out, and by polling alone.

Starts N real `python -m serving` replicas (default 3) on 127.0.0.1, each with its own cache,
work and log folders, all reading the pin from one scratch repository (bench_serving's: a
logistic regression with two registered versions). Each round commits a pin that flips the
version, then either calls every replica's /webhook as `mlpin deploy` does
(pipelines.adapters.webhook.notify with the list in MLPIN_DEPLOY_WEBHOOK_URL) or does
nothing and waits for the polls. A replica has converged when its /models lists the new
version live; a round's time is the slowest replica's. Prints a table; --json writes the
samples. A script, not a test: the numbers belong to the machine that ran it.

    PYTHONPATH=. .venv/bin/python scripts/bench_replicas.py [--replicas 3] [--rounds 5] [--poll-interval 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving import SECRET, commit_pin, mlpin_command, scratch_repo, serving_env, started  # noqa: E402

BASE_PORT = 18280


def main(argv: list[str] | None = None) -> None:
    """Start the replicas, play the rounds, print the table (and write the JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=_positive, default=3)
    parser.add_argument("--rounds", type=_positive, default=5, help="pin changes per mode")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="the replicas' MLPIN_POLL_INTERVAL_S")
    parser.add_argument("--json", type=Path, help="also write the samples here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlpin-bench-replicas-") as tmp:
        result = run(Path(tmp), args)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def run(tmp: Path, args: argparse.Namespace) -> dict:
    """The samples of both modes: per round, each replica's seconds from the pin commit to serving it."""
    repo, entries, _ = scratch_repo(tmp)
    with ExitStack() as stack:
        urls = []
        for i in range(args.replicas):
            state = tmp / f"replica-{i}"
            env = {**serving_env(repo, state, args.poll_interval), "MLPIN_POLL_JITTER": "0.2"}
            server, _ = stack.enter_context(
                started(mlpin_command(BASE_PORT + i), env, f"http://127.0.0.1:{BASE_PORT + i}", "/readyz")
            )
            urls.append(server.url)
        environ = {"MLPIN_DEPLOY_WEBHOOK_URL": ",".join(f"{u}/webhook" for u in urls), "MLPIN_WEBHOOK_SECRET": SECRET}
        version = 1
        samples: dict[str, list[list[float]]] = {"webhook": [], "poll": []}
        for mode in ("webhook", "poll"):
            for _ in range(args.rounds):
                version = 2 if version == 1 else 1
                samples[mode].append(_round(repo, entries[version], urls, environ if mode == "webhook" else None))
    return {"replicas": args.replicas, "poll_interval_s": args.poll_interval, "poll_jitter": 0.2, "samples": samples}


def _round(repo: Path, entry: dict, urls: list[str], environ: dict[str, str] | None) -> list[float]:
    """Commit the pin, notify (or not); each replica's seconds until it serves the entry's version."""
    from pipelines.adapters.webhook import notify

    begin = time.perf_counter()
    commit_pin(repo, entry)
    if environ is not None:
        calls = notify(environ, event={"commit": "bench", "models": {"bench": entry["version"]}, "pr": None})
        failed = [c for c in calls if not c.result.startswith("sent")]
        if failed:
            raise SystemExit(f"webhook failed: {failed}")
    seconds: dict[str, float] = {}
    deadline = begin + 120
    while len(seconds) < len(urls):
        if time.perf_counter() > deadline:
            raise SystemExit(f"replicas did not converge on v{entry['version']} within 120 s: {sorted(seconds)}")
        for url in urls:
            if url not in seconds and _live_version(url) == entry["version"]:
                seconds[url] = time.perf_counter() - begin
        time.sleep(0.01)
    return [seconds[url] for url in urls]


def _live_version(url: str) -> int | None:
    import httpx
    from bench_serving import MODEL

    models = httpx.get(f"{url}/models", timeout=5).json()
    return next((m["version"] for m in models if m["name"] == MODEL), None)


def table(result: dict) -> str:
    """Per mode: the median and worst of each round's slowest replica, and of every replica."""
    lines = [f"{result['replicas']} replicas, poll interval {result['poll_interval_s']} s "
             f"(± {result['poll_jitter']:.0%}); seconds from the pin commit to serving it",
             f"{'mode':<9}{'rounds':>7}{'all converged: median':>23}{'worst':>8}{'one replica: median':>21}"]
    for mode, rounds in result["samples"].items():
        slowest = [max(r) for r in rounds]
        each = [s for r in rounds for s in r]
        lines.append(f"{mode:<9}{len(rounds):>7}{statistics.median(slowest):>23.2f}{max(slowest):>8.2f}"
                     f"{statistics.median(each):>21.2f}")
    return "\n".join(lines)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    main()
