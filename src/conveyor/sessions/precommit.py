"""`pre-commit`: every hook on every file, each tool run from uv.lock like the other sessions."""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._support import define


def pre_commit(session: nox.Session, project: Project) -> str | None:
    """pre-commit run --all-files; the hooks' `uv run` installs into this session's venv."""
    if not sync(session, project, "hooks", only=True):
        return None
    session.run(
        "pre-commit",
        "run",
        "--all-files",
        "--show-diff-on-failure",
        "--color=always" if session.interactive else "--color=never",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
    )
    return "pre-commit: every hook passed on every file"


def register(project: Project) -> None:
    # The hooks run tools from several groups (`uv run --group ...`) over the whole tree.
    inputs = Inputs(paths=(".",), groups=("hooks", "lint", "typing", "scanners"), with_project=True)
    define(project, "pre-commit", pre_commit, python=project.tools_python, inputs=inputs)
