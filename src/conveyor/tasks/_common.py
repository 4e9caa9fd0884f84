"""Plumbing every task shares: the project from invoke's config, errors as exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit

from conveyor.config import Project, load_project
from conveyor.errors import ConveyorError

F = TypeVar("F", bound=Callable[..., Any])


def project_of(c: Context) -> Project:
    """The project the task runs on: `conveyor.root` in invoke's config (default: cwd)."""
    root = c.config.get("conveyor", {}).get("root", ".")
    return load_project(root)


def reports_errors(func: F) -> F:
    """Turn a ConveyorError into its one-line message and exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConveyorError as exc:
            print(f"error: {exc.render()}", file=sys.stderr, flush=True)
            raise Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
