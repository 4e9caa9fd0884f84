"""Shared test helpers: in CI a missing tool is a failure, never a skip."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NoReturn

import pytest

from conveyor.ci import in_ci

REPO_ROOT = Path(__file__).resolve().parent.parent


def unavailable(message: str) -> NoReturn:
    """A missing prerequisite: fails the test in CI, skips it (with the reason) locally."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """Path of `name`; in CI its absence fails the test, locally it skips with the reason."""
    found = shutil.which(name)
    if found:
        return found
    unavailable(f"{name} is not installed (install the project's dev group: uv sync)")


@pytest.fixture
def repo_root() -> Path:
    """The Conveyor checkout."""
    return REPO_ROOT
