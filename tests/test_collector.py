"""A command's process collects garbage in larger batches and freezes what is alive at exit,
after every atexit handler of the libraries it imported has run."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import PROJECT

PROBE = """
import atexit, gc, json, sys
seen = {}
atexit.register(lambda: print(json.dumps(seen | {"frozen_at_exit": gc.get_freeze_count() > 0})))  # runs last
from pipelines.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
seen.update(thresholds=gc.get_threshold(), frozen_during=gc.get_freeze_count())
"""


def test_a_command_collects_less_often_and_freezes_at_exit() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, "--help"], cwd=PROJECT, capture_output=True, text=True,
                          timeout=120, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"thresholds": [10_000, 10, 10], "frozen_during": 0, "frozen_at_exit": True}
