"""`integration`: the integration suite (real tools, real Docker engine) on the tools Python."""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.sessions._install import sync
from conveyor.sessions._pytest import run_pytest, suite_dirs
from conveyor.sessions._support import define

LABEL = "integration"


def integration(session: nox.Session, project: Project) -> None:
    """pytest over tests/integration with coverage (real tools); posargs go to pytest."""
    targets = suite_dirs(project, "integration")
    if not targets:
        session.skip(f"no integration directory under {project.settings.tests}")
    if not sync(session, project, "test"):
        return
    run_pytest(session, project, targets, LABEL)


def register(project: Project) -> None:
    define(project, LABEL, integration, python=project.tools_python, default=False)
