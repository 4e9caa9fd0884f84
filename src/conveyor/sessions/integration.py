"""`integration`: the integration suite (real tools, real Docker engine) on the tools Python.

Registered only when the project has an integration suite (`tests/integration`), so the
pipeline never lists a session that would have nothing to check.
"""

from __future__ import annotations

import nox

from conveyor.adopt.plan import adopt
from conveyor.config import Project
from conveyor.sessions._install import sync
from conveyor.sessions._pytest import pytest_inputs, run_tests, suite_dirs
from conveyor.sessions._support import define

LABEL = "integration"


def integration(session: nox.Session, project: Project) -> str | None:
    """pytest over tests/integration with coverage (real tools); posargs go to pytest."""
    plan = adopt(project)
    if not sync(session, project, *plan.groups, extras=plan.extras):
        return None
    return run_tests(session, project, plan, suite_dirs(project, LABEL), LABEL)


def register(project: Project) -> None:
    if suite_dirs(project, LABEL):
        define(
            project,
            LABEL,
            integration,
            python=project.tools_python,
            inputs=pytest_inputs(project, adopt(project)),
            default=False,
        )
