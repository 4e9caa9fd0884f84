"""`tests-3.X`: the project's test suite with coverage on every configured Python."""

from __future__ import annotations

import nox

from conveyor.adopt.plan import adopt
from conveyor.config import Project
from conveyor.sessions._install import sync
from conveyor.sessions._pytest import pytest_inputs, run_tests, suite_targets
from conveyor.sessions._support import define


def tests(session: nox.Session, project: Project) -> str | None:
    """The project's runner over its unit tests with coverage; posargs go to the runner."""
    plan = adopt(project)
    if not sync(session, project, *plan.groups, extras=plan.extras):
        return None
    return run_tests(session, project, plan, suite_targets(project, plan), session.name)


def register(project: Project) -> None:
    plan = adopt(project)
    define(project, "tests", tests, python=project.pythons, inputs=pytest_inputs(project, plan))
