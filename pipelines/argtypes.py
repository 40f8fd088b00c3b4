"""argparse types shared by mlpin's command lines (the CLI, `scripts/stack`, `python -m serving`).

Each turns a bad value into argparse's one-line usage error saying what to give instead,
never a traceback. Nothing is imported here but argparse.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type`: a whole number from `low` to `high`, both included."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse
