"""`tests-3.X`: the unit tests with coverage on every configured Python."""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.sessions._install import sync
from conveyor.sessions._pytest import run_pytest, suite_dirs
from conveyor.sessions._support import define


def tests(session: nox.Session, project: Project) -> None:
    """pytest over the unit tests with coverage; posargs go to pytest."""
    if not sync(session, project, "test"):
        return
    targets = suite_dirs(project, "unit") or list(project.settings.tests)
    run_pytest(session, project, targets, f"tests-{session.python}")


def register(project: Project) -> None:
    define(project, "tests", tests, python=project.pythons)
