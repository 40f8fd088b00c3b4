"""The report of scripts/bench_serving: issue #15's targets checked, a compact table, a chart.

Takes the figures `bench_serving.run` measured (plain numbers) and decides nothing else:
every target is a ratio between servers measured in the same run on the same machine,
never an absolute time, so the verdicts hold wherever the benchmark runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MB = 1024 * 1024


def targets(results: dict) -> list[dict[str, Any]]:
    """Each target of issue #15: what it asks, the figure found, and whether it is met."""
    found = []
    batch = results["batch"]
    for route in ("predict", "invocations"):
        ratio = batch["mlflow_s"] / batch[f"mlpin_{route}_s"]
        found.append(_target(f"10k-row batch /{route}: rows/s >= 3x MLflow's", ratio, ratio >= 3, "x"))
    for connections, runs in results["single_row"].items():
        ours, theirs, ceiling = runs["mlpin_predict"], runs["mlflow"], runs["ceiling"]
        ratio = ours["rps"] / theirs["rps"]
        found.append(_target(f"single row, {connections} connections: req/s >= 10x MLflow's", ratio, ratio >= 10, "x"))
        share = ours["rps"] / ceiling["rps"]
        found.append(_target(f"single row, {connections} connections: req/s >= 70% of the ceiling's", 100 * share,
                             share >= 0.7, "%"))
    most = max(results["single_row"], key=int)
    runs = results["single_row"][most]
    lower = runs["mlflow"]["p99"] / runs["mlpin_predict"]["p99"]
    found.append(_target(f"single row, {most} connections: p99 >= 5x lower than MLflow's", lower, lower >= 5, "x"))
    swaps = results["swaps"]
    ratio = swaps["during"]["p99"] / swaps["steady"]["p99"]
    found.append(_target(f"p99 during {swaps['swaps']} swaps <= 1.5x steady p99, 0 failed", ratio,
                         ratio <= 1.5 and swaps["during"]["failed"] == 0, "x"))
    cold = results["cold_start_s"]
    found.append(_target("cold start (model in the verified cache) <= 1.5 s", cold["mlpin_cached"],
                         cold["mlpin_cached"] <= 1.5, " s"))
    ratio = cold["mlflow"] / cold["mlpin_cached"]
    found.append(_target("cold start >= 3x faster than MLflow's", ratio, ratio >= 3, "x"))
    return found


def _target(what: str, value: float, met: bool, unit: str) -> dict[str, Any]:
    return {"target": what, "value": round(value, 3), "unit": unit.strip(), "met": bool(met),
            "shown": f"{value:.1f}{unit}" if unit != " s" else f"{value:.2f} s"}


def print_report(results: dict) -> None:
    """The machine, a markdown table of every measure, then the targets."""
    machine = results["machine"]
    print(f"commit {machine['commit']}; wrk 1 thread, {machine['seconds_per_run']} s per run; one worker per server; "
          f"{machine['cpus']} CPUs; load average {_load(machine['load_before'])} before, "
          f"{_load(machine['load_after'])} after\n")
    print("| measure | mlpin | mlflow | ceiling | mlpin / mlflow | mlpin / ceiling |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows(results):
        print("| " + " | ".join(row) + " |")
    costs = results.get("step_costs_s") or {}
    if costs:
        print("\nmlpin's steps timed alone (ms, median): " + ", ".join(f"{k} {v * 1000:.2f}" for k, v in costs.items()))
    print("\n| target | found | met |\n| --- | --- | --- |")
    for target in results["targets"]:
        print(f"| {target['target']} | {target['shown']} | {'yes' if target['met'] else 'NO'} |")


def _load(averages: tuple[float, ...]) -> str:
    return "/".join(f"{a:.2f}" for a in averages)


def rows(results: dict) -> list[tuple[str, ...]]:
    """The table's rows: measure, mlpin, mlflow, ceiling, and the two ratios."""
    found = []
    for connections, runs in results["single_row"].items():
        mlflow, ceiling = runs["mlflow"], runs["ceiling"]
        for route in ("predict", "invocations"):
            ours = runs[f"mlpin_{route}"]
            found.append((f"single row, {connections} conn: req/s (/{route})", f"{ours['rps']:.0f}",
                          f"{mlflow['rps']:.0f}", f"{ceiling['rps']:.0f}", _x(ours["rps"] / mlflow["rps"]),
                          f"{100 * ours['rps'] / ceiling['rps']:.0f}%"))
        ours = runs["mlpin_predict"]
        found.append((f"single row, {connections} conn: p50 / p99 ms (/predict)", _ms(ours), _ms(mlflow),
                      _ms(ceiling), _x(mlflow["p99"] / ours["p99"]) + " lower p99", ""))
        failed = runs["mlpin_predict"]["failed"] + runs["mlpin_invocations"]["failed"]
        found.append((f"single row, {connections} conn: failed", str(failed), str(mlflow["failed"]),
                      str(ceiling["failed"]), "", ""))
    batch = results["batch"]
    for route in ("predict", "invocations"):
        seconds = batch[f"mlpin_{route}_s"]
        found.append((f"{batch['rows']}-row batch (/{route}): rows/s, median of 3",
                      f"{batch['rows'] / seconds:.0f} ({seconds * 1000:.0f} ms)",
                      f"{batch['rows'] / batch['mlflow_s']:.0f} ({batch['mlflow_s'] * 1000:.0f} ms)", "",
                      _x(batch["mlflow_s"] / seconds), ""))
    before, after = batch["mlpin_peak_rss_before"], batch["mlpin_peak_rss_after"]
    if before and after:
        found.append((f"peak RSS across the batches (body {batch['body_bytes'] / MB:.1f} MB)",
                      f"{before / MB:.0f} -> {after / MB:.0f} MB (+{(after - before) / MB:.0f} MB)", "", "", "", ""))
    swaps = results["swaps"]
    during, steady = swaps["during"], swaps["steady"]
    found.append((f"{swaps['connections']} conn during {swaps['swaps']} swaps: req/s, p99, failed",
                  f"{during['rps']:.0f}, {during['p99']:.1f} ms, {during['failed']} failed "
                  f"(steady: {steady['rps']:.0f}, {steady['p99']:.1f} ms)", "(no hot swap)", "", "", ""))
    hook, poll = results["pin_to_serve_s"]["webhook"], results["pin_to_serve_s"]["poll"]
    found.append(("pin commit to serving: webhook / poll", f"{hook:.3f} s / {poll:.1f} s", "(restart)", "", "", ""))
    cold = results["cold_start_s"]
    found.append(("cold start to ready, median (model cached / first start)",
                  f"{cold['mlpin_cached']:.2f} s / {cold['mlpin_empty_cache']:.2f} s",
                  f"{cold['mlflow']:.2f} s / {cold['mlflow_first']:.2f} s", "",
                  _x(cold["mlflow"] / cold["mlpin_cached"]), ""))
    found.append(("cold start floor: the imports alone (skops, sklearn, scipy, pandas, fastapi, uvicorn)",
                  f"{cold['import_floor']:.2f} s", "", "", "", ""))
    workers = results.get("workers") or {}
    if "skipped" in workers:
        found.append(("--mlpin-workers", workers["skipped"], "", "", "", ""))
    for count, per_connections in ({} if "skipped" in workers else workers).items():
        for connections, rps in per_connections.items():
            mlflow_rps = results["single_row"][connections]["mlflow"]["rps"]
            ceiling_rps = results["single_row"][connections]["ceiling"]["rps"]
            found.append((f"--workers {count}, {connections} conn: req/s (/predict)", f"{rps:.0f}",
                          f"{mlflow_rps:.0f}", f"{ceiling_rps:.0f}", _x(rps / mlflow_rps),
                          f"{100 * rps / ceiling_rps:.0f}%"))
    return found


def _x(ratio: float) -> str:
    return f"{ratio:.1f}x"


def _ms(run: dict[str, float]) -> str:
    return f"{run['p50']:.1f} / {run['p99']:.1f}"


def chart(results: dict, path: Path) -> None:
    """A PNG: single-row req/s and p99 per server, one group of bars per connection count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    servers = ("mlpin_predict", "mlpin_invocations", "mlflow", "ceiling")
    counts = list(results["single_row"])
    figure, (rps_axes, p99_axes) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / len(servers)
    for index, server in enumerate(servers):
        positions = [i + index * width for i in range(len(counts))]
        rps_axes.bar(positions, [results["single_row"][c][server]["rps"] for c in counts], width, label=server)
        p99_axes.bar(positions, [results["single_row"][c][server]["p99"] for c in counts], width, label=server)
    for axes, title in ((rps_axes, "single row: requests/s"), (p99_axes, "single row: p99 (ms, log scale)")):
        axes.set_xticks([i + 0.4 - width / 2 for i in range(len(counts))], [f"{c} connections" for c in counts])
        axes.set_title(title)
    p99_axes.set_yscale("log")
    rps_axes.legend(fontsize="small")
    figure.suptitle(f"mlpin serving benchmark, commit {results['machine']['commit']}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
