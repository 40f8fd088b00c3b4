"""Progress lines for long steps, on stderr so `--json` output stays clean."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TextIO


class Progress:
    """Prints `label ... done (1.2s)` around a step; silent when `stream` is None."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def note(self, text: str) -> None:
        """A heading line between steps."""
        if self.stream is not None:
            self.stream.write(f"{text}\n")
            self.stream.flush()

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Report the start and duration of a step (and its failure)."""
        if self.stream is None:
            yield
            return
        started = time.perf_counter()
        self.stream.write(f"  {label} ... ")
        self.stream.flush()
        try:
            yield
        except BaseException:
            self.stream.write("failed\n")
            raise
        self.stream.write(f"done ({time.perf_counter() - started:.1f}s)\n")
        self.stream.flush()


SILENT = Progress(None)


def to_stderr() -> Progress:
    """Progress on the process's stderr."""
    return Progress(sys.stderr)
