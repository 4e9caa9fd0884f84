"""`pre-commit`: every hook on every file, in the one environment pinned to uv.lock.

A config Conveyor wrote must pin exactly what the lock holds (else the commit hooks and the
sessions would run different tools): stale pins fail with the command that refreshes them.
"""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.errors import GateFailedError
from conveyor.scaffold import hooks
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._support import define


def check_pins(project: Project) -> None:
    """Fail when Conveyor's hook config no longer pins what uv.lock holds."""
    path = project.root / hooks.CONFIG_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if not hooks.is_conveyors(text):
        return  # the project's own hooks: their versions are the project's business
    stale = hooks.stale_pins(hooks.configured_pins(text) or [], hooks.hook_pins(project.root))
    if stale:
        raise GateFailedError(
            f"{path}: hook pins differ from uv.lock: {'; '.join(stale[:3])}"
            + (f" (and {len(stale) - 3} more)" if len(stale) > 3 else ""),
            hint="run `uv run conveyor hooks` and commit the result",
        )


def pre_commit(session: nox.Session, project: Project) -> str | None:
    """pre-commit run --all-files (hook pins checked against uv.lock first)."""
    if not sync(session, project, "hooks", only=True):
        return None
    check_pins(project)
    session.run(
        "pre-commit",
        "run",
        "--all-files",
        "--show-diff-on-failure",
        "--color=always" if session.interactive else "--color=never",
    )
    return "pre-commit: every hook passed on every file, pins match uv.lock"


def register(project: Project) -> None:
    inputs = Inputs(paths=(".",), groups=hooks.HOOK_GROUPS, with_project=True)
    define(project, "pre-commit", pre_commit, python=project.tools_python, inputs=inputs)
