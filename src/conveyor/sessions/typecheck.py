"""`types`: mypy --strict over the sources and the tests, with the project installed.

mypy's output is printed as it is and parsed into annotations (the ten most severe) and a
step-summary table under GitHub Actions.
"""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.errors import GateFailedError
from conveyor.reports.annotations import from_mypy, report_text
from conveyor.reports.github import group
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._support import define, fail_on_findings

MYPY_OK_CODES = (0, 1)
"""mypy exits 1 when it reports type errors; 2 is a crash, a usage or a blocking error."""
MYPY_SUCCESS = "Success: no issues found"


def mypy_argv(paths: list[str]) -> list[str]:
    """mypy --strict, one `file:line: error: message  [code]` line per error (what from_mypy
    reads) whatever the project's own `pretty`/`error_summary` settings, and the summary line."""
    return [
        "mypy",
        "--strict",
        "--no-pretty",
        "--no-color-output",
        "--error-summary",
        "--",
        *paths,
    ]


MYPY_CONFIGS = ("mypy.ini", ".mypy.ini", "setup.cfg")


def types(session: nox.Session, project: Project) -> str | None:
    """mypy --strict over the sources and tests."""
    if not sync(session, project, "typing"):
        return None
    paths = [*project.settings.src, *project.settings.tests]
    with group("mypy"):
        output = str(session.run(*mypy_argv(paths), silent=True, success_codes=list(MYPY_OK_CODES)))
        print(output, end="" if output.endswith("\n") else "\n", flush=True)
        findings = report_text("mypy", output, from_mypy, project.root)
    errors = [finding for finding in findings if finding.level == "error"]
    fail_on_findings("mypy", errors, paths, hint="fix the types mypy names above")
    success = next((ln for ln in output.splitlines() if ln.startswith(MYPY_SUCCESS)), None)
    if success is None:
        raise GateFailedError(
            "mypy: failed without an error line Conveyor could read",
            hint="see mypy's output above",
        )
    return f"mypy --strict: {success}"


def register(project: Project) -> None:
    paths = (*project.settings.src, *project.settings.tests)
    inputs = Inputs(paths=(*paths, *MYPY_CONFIGS), groups=("typing",), with_project=True)
    define(project, "types", types, python=project.tools_python, inputs=inputs)
