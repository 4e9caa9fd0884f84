"""Conveyor's Nox sessions, registered by one call from a project's noxfile.

`register()` reads `[tool.conveyor]` first, so a bad key stops nox with one line before any
session runs. Sessions are registered in pipeline order (`nox -t pipeline` runs them all).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import nox

from conveyor.config import load_project
from conveyor.errors import ConveyorError
from conveyor.sessions._support import use_interpreters

CORE_MODULES = ("lint", "typecheck", "tests", "integration", "coverage", "security", "licenses")
SESSION_MODULES: tuple[str, ...] = ("workflow", "precommit", "ops")
"""Further session modules (each exposes `register(project)`), registered after the core ones."""


def register(root: str | Path = ".") -> None:
    """Load the project at `root` and register every session; exit 2 on a config error."""
    try:
        project = load_project(root)
    except ConveyorError as exc:
        print(exc.render(), file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    use_interpreters(project)
    nox.options.reuse_venv = "yes"
    for name in (*CORE_MODULES, *SESSION_MODULES):
        module = importlib.import_module(f"conveyor.sessions.{name}")
        module.register(project)
