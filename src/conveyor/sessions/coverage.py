"""`coverage`: combine every run's data, print the report, write XML/HTML, gate on the threshold."""

from __future__ import annotations

import json
from pathlib import Path

import nox

from conveyor.config import Project
from conveyor.errors import GateFailedError, ToolFailedError
from conveyor.reports.github import group, write_step_summary
from conveyor.sessions._install import sync
from conveyor.sessions._support import define
from conveyor.sessions.integration import LABEL as INTEGRATION


def data_files(project: Project) -> list[Path]:
    """The per-run data files (`.coverage.<label>*`) the test sessions left."""
    return sorted(project.reports.glob(".coverage.*"))


def threshold_message(total: float, fail_under: float, *, integration_ran: bool) -> str:
    """Why the gate failed, naming the missing integration data when that is the likely cause."""
    message = f"coverage {total:.1f}% is under the threshold {fail_under:g}%"
    if not integration_ran:
        message += f" (no .coverage.{INTEGRATION} data file: run nox -s integration first)"
    return message


def total_percent(report: Path) -> float:
    """The total from `coverage json`."""
    try:
        return float(json.loads(report.read_text(encoding="utf-8"))["totals"]["percent_covered"])
    except (OSError, ValueError, KeyError) as exc:
        raise ToolFailedError(f"coverage: cannot read {report}: {exc}") from None


def coverage(session: nox.Session, project: Project) -> None:
    """Combine the per-run coverage data, report it, write XML and HTML, fail under threshold."""
    if not sync(session, project, "test", only=True):
        return
    files = data_files(project)
    if not files:
        raise GateFailedError(
            f"coverage: no data files in {project.reports}",
            hint="run nox -s tests (and nox -s integration) first",
        )
    # Not `.coverage`: coverage's report would take the per-run files as parallel data and
    # consume them, so a second `nox -s coverage` would find nothing.
    combined = project.reports / ".coverage-combined"
    data = f"--data-file={combined}"
    report = project.reports / "coverage.json"
    with group("coverage"):
        session.run("coverage", "combine", "--keep", data, *map(str, files))
        session.run("coverage", "report", data, "--fail-under=0")
        reports = project.reports
        session.run("coverage", "xml", data, "-o", str(reports / "coverage.xml"), silent=True)
        session.run("coverage", "html", data, "-d", str(reports / "htmlcov"), silent=True)
        session.run("coverage", "json", data, "-o", str(report), silent=True)
    total = total_percent(report)
    fail_under = project.settings.coverage_fail_under
    passed = total >= fail_under
    write_step_summary(
        f"### Coverage ({'passed' if passed else 'failed'})\n\n"
        f"{total:.1f}% of the sources (threshold {fail_under:g}%), from {len(files)} data file(s)"
    )
    if not passed:
        integration_ran = any(f.name.startswith(f".coverage.{INTEGRATION}") for f in files)
        raise GateFailedError(threshold_message(total, fail_under, integration_ran=integration_ran))
    session.log(f"coverage {total:.1f}% >= {fail_under:g}%")


def register(project: Project) -> None:
    define(project, "coverage", coverage, python=project.tools_python)
