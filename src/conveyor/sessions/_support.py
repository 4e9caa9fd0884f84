"""What every Conveyor session shares: registration on uv, the pipeline tag, error rendering."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Sequence
from typing import Callable

import nox

from conveyor.ci import in_ci
from conveyor.config import Project
from conveyor.errors import ConveyorError, GateFailedError
from conveyor.reports.github import Annotation

PIPELINE_TAG = "pipeline"
SessionBody = Callable[[nox.Session, Project], None]


def define(
    project: Project,
    name: str,
    body: SessionBody,
    *,
    python: str | Sequence[str],
    default: bool = True,
) -> None:
    """Register `body` as a uv-backed nox session tagged `pipeline`.

    A ConveyorError raised by the body ends the session with its one-line message and hint,
    never a traceback.
    """

    def session_func(session: nox.Session) -> None:
        session.chdir(str(project.root))
        try:
            body(session, project)
        except ConveyorError as exc:
            session.error(exc.render())

    session_func.__doc__ = body.__doc__
    session_func.__name__ = name.replace("-", "_")
    nox.session(
        name=name,
        python=list(python) if not isinstance(python, str) else python,
        venv_backend="uv",
        tags=[PIPELINE_TAG],
        default=default,
    )(session_func)


def fail_on_findings(
    tool: str, findings: Sequence[Annotation], paths: Sequence[str], hint: str
) -> None:
    """End a gate with one line naming the tool and how many problems it found, if any."""
    if findings:
        raise GateFailedError(
            f"{tool}: {len(findings)} problem(s) in {', '.join(paths)}", hint=hint
        )


def missing_pythons(versions: Iterable[str]) -> list[str]:
    """The versions with no `pythonX.Y` on PATH, in the given order, without repeats."""
    missing: list[str] = []
    for version in versions:
        if version not in missing and shutil.which(f"python{version}") is None:
            missing.append(version)
    return missing


def missing_pythons_message(missing: Sequence[str], *, ci: bool) -> str:
    """One line naming the missing interpreters, what nox will do and how to install them."""
    names = ", ".join(missing)
    outcome = "their sessions fail (CI is set)" if ci else "their sessions are skipped"
    return (
        f"conveyor: Python {names} not found on PATH; nox tries `uv python install` and otherwise "
        f"{outcome}. Install: `uv python install {' '.join(missing)}` "
        f"or `pyenv install {missing[0]}` and add it to `pyenv global`."
    )


def check_interpreters(project: Project) -> None:
    """Make missing interpreters an error under CI (only), and name them (on stderr) up front.

    Set both ways: nox's own default treats any `CI` variable, even `CI=false`, as CI.
    """
    ci = in_ci()
    nox.options.error_on_missing_interpreters = ci
    missing = missing_pythons([*project.pythons, project.tools_python])
    if missing:
        print(missing_pythons_message(missing, ci=ci), file=sys.stderr)
