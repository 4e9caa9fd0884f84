"""`lint`: ruff check (import order through the `I` rules) and ruff format --check."""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.reports.github import in_github_actions
from conveyor.sessions._install import sync
from conveyor.sessions._support import define


def lint(session: nox.Session, project: Project) -> None:
    """ruff check + ruff format --check over the sources and tests."""
    if not sync(session, project, "lint", only=True):
        return
    paths = [*project.settings.src, *project.settings.tests]
    annotate = ["--output-format=github"] if in_github_actions() else []
    session.run("ruff", "check", *annotate, *paths)
    session.run("ruff", "format", "--check", *paths)


def register(project: Project) -> None:
    define(project, "lint", lint, python=project.tools_python)
