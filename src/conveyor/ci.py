"""Where Conveyor runs: under CI, or in front of a person at a terminal."""

from __future__ import annotations

import os
import sys


def in_ci() -> bool:
    """True under CI (the `CI` environment variable set to anything but false/0)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def plain_output() -> bool:
    """True in CI or when output is not a terminal: print lines instead of live progress."""
    return in_ci() or not sys.stdout.isatty()
