"""Shared test helpers: in CI a missing tool is a failure, never a skip."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    """True under CI (the `CI` environment variable set to anything but false/0)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def require_tool(name: str) -> str:
    """Path of `name`; in CI its absence fails the test, locally it skips with the reason."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (install the project's dev group: uv sync)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def repo_root() -> Path:
    """The Conveyor checkout."""
    return REPO_ROOT
