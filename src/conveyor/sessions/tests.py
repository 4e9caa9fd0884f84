"""`tests-3.X`: the unit tests with coverage on every configured Python."""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.sessions._install import sync
from conveyor.sessions._pytest import pytest_inputs, run_pytest, suite_dirs
from conveyor.sessions._support import define


def tests(session: nox.Session, project: Project) -> str | None:
    """pytest over the unit tests with coverage; posargs go to pytest."""
    if not sync(session, project, "test"):
        return None
    targets = suite_dirs(project, "unit") or list(project.settings.tests)
    return run_pytest(session, project, targets, session.name)


def register(project: Project) -> None:
    define(project, "tests", tests, python=project.pythons, inputs=pytest_inputs(project))
