"""The demo's client of the serving process (standard library and PyYAML only).

    demo_client.py ready URL                wait until GET /readyz answers 200
    demo_client.py predict URL MODEL        send the model's logged example, print who answered
    demo_client.py follows URL MODEL        wait until the live version is the one
                                            models/production.yaml (in this folder) pins
    demo_client.py image URL MODEL FILE     send an image (PNG/JPG/DNG, base64 JSON), print the answer
    demo_client.py traffic URL MODEL CSV [SHIFT] [REPEAT]
                                            send every row of CSV (the model's input columns)
                                            REPEAT times (default 1), 10 rows per request, each
                                            column in SHIFT changed: "alcohol=+3,proline=*2"
"""

from __future__ import annotations

import csv
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT_S = 60


def _get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


def ready(base: str) -> None:
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT_S:
        if _get(f"{base}/readyz")[0] == 200:
            print(f"serving is ready at {base} after {time.monotonic() - started:.1f} s")
            return
        time.sleep(0.2)
    sys.exit(f"serving at {base} was not ready within {TIMEOUT_S} s; see .mlpin/serving.log")


def _live(base: str, model: str) -> dict | None:
    code, models = _get(f"{base}/models")
    return next((m for m in models or [] if m["name"] == model), None) if code == 200 else None


def predict(base: str, model: str) -> None:
    live = _live(base, model)
    if live is None:
        sys.exit(f"{model} is not live at {base}")
    body = json.dumps(live["example"]).encode()
    request = urllib.request.Request(
        f"{base}/predict/{model}", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    print(f"POST /predict/{model} -> {answer['model']} v{answer['version']} answered {answer['predictions']} "
          f"(request {answer['request_id']})")


def follows(base: str, model: str) -> None:
    import yaml

    pinned = yaml.safe_load(Path("models/production.yaml").read_text())["models"][model]["version"]
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT_S:
        live = _live(base, model)
        if live is not None and live["version"] == pinned:
            print(
                f"serving answers with {model} v{pinned} {time.monotonic() - started:.2f} s "
                "after deploy returned, no restart"
            )
            return
        time.sleep(0.05)
    sys.exit(f"{model} v{pinned} was not live within {TIMEOUT_S} s; see GET {base}/status")


def image(base: str, model: str, path: str) -> None:
    import base64

    body = json.dumps({"image": base64.b64encode(Path(path).read_bytes()).decode()}).encode()
    request = urllib.request.Request(f"{base}/predict/{model}", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    print(f"POST /predict/{model} ({path}) -> {answer['model']} v{answer['version']} answered "
          f"{answer['predictions']} (request {answer['request_id']})")


def traffic(base: str, model: str, path: str, shift: str = "", repeat: str = "1") -> None:
    live = _live(base, model)
    if live is None:
        sys.exit(f"{model} is not live at {base}")
    columns = [c["name"] for c in live["inputs"]]
    changes = [(name, text[0], float(text[1:])) for name, _, text in (p.partition("=") for p in shift.split(",") if p)]
    with open(path, newline="") as handle:
        rows = [{c: float(row[c]) for c in columns} for row in csv.DictReader(handle)]
    for name, op, value in changes:
        for row in rows:
            row[name] = row[name] + value if op == "+" else row[name] * value
    sent = 0
    for _ in range(int(repeat)):
        for start in range(0, len(rows), 10):
            body = json.dumps(rows[start:start + 10]).encode()
            request = urllib.request.Request(f"{base}/predict/{model}", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            sent += 1
    what = f"shifted ({shift})" if shift else "unshifted"
    print(f"sent {sent} requests ({len(rows) * int(repeat)} rows, {what}) to {base}/predict/{model}")


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or ["help"]
    handlers = {"ready": ready, "predict": predict, "follows": follows, "traffic": traffic, "image": image}
    if command not in handlers:
        sys.exit(__doc__)
    handlers[command](*rest)
