"""`types`: mypy --strict over the sources and the tests, with the project installed."""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.sessions._install import sync
from conveyor.sessions._support import define


def types(session: nox.Session, project: Project) -> None:
    """mypy --strict over the sources and tests."""
    if not sync(session, project, "typing"):
        return
    session.run("mypy", "--strict", *project.settings.src, *project.settings.tests)


def register(project: Project) -> None:
    define(project, "types", types, python=project.tools_python)
