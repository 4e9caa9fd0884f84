"""One pytest run with coverage: its own data file and JUnit XML under the reports directory."""

from __future__ import annotations

from pathlib import Path

import nox
from nox.command import CommandFailed

from conveyor.config import Project
from conveyor.reports.annotations import (
    from_junit,
    junit_totals,
    publish,
    read_report,
    report_file,
)
from conveyor.reports.github import Annotation, group
from conveyor.sessions._cache import Inputs
from conveyor.sessions._support import report_output


def pytest_inputs(project: Project) -> Inputs:
    """A test run reads anything in the tree (fixtures, docs it checks, config), installs the
    project with the test group, and leaves coverage data and JUnit XML for later sessions."""
    return Inputs(
        paths=(".",),
        groups=("test",),
        with_project=True,
        outputs=(
            report_output(project, ".coverage.{session}*"),
            report_output(project, "junit-{session}.xml"),
        ),
    )


def suite_dirs(project: Project, kind: str) -> list[str]:
    """`tests/<kind>` for each configured test path that has one (e.g. tests/unit)."""
    return [
        f"{path}/{kind}" for path in project.settings.tests if (project.root / path / kind).is_dir()
    ]


def coverage_file(project: Project, label: str) -> Path:
    """reports/.coverage.<label>: what the `coverage` session combines."""
    return project.reports / f".coverage.{label}"


def junit_file(project: Project, label: str) -> Path:
    """reports/junit-<label>.xml: the run's results, read back for annotations."""
    return project.reports / f"junit-{label}.xml"


def pytest_argv(project: Project, targets: list[str], label: str, posargs: list[str]) -> list[str]:
    """pytest over `targets`, measuring the sources, one JUnit XML per run."""
    cov = [f"--cov={path}" for path in project.settings.src]
    junit = junit_file(project, label)
    # Per-run data is partial: thresholds are judged on the combined data (`coverage`).
    partial = "--cov-fail-under=0"
    return ["pytest", *targets, *cov, "--cov-report=", partial, f"--junitxml={junit}", *posargs]


PYTEST_EXIT_CODES = {
    1: "tests failed",
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}


def failed_run(label: str, return_code: int | None) -> Annotation:
    """The finding for a failed pytest run whose JUnit XML names no failing test."""
    outcome = "failed"
    if return_code is not None:
        outcome = f"exit code {return_code} ({PYTEST_EXIT_CODES.get(return_code, 'failed')})"
    return Annotation("error", f"pytest {label}: {outcome}; see the log", title="pytest")


def run_pytest(session: nox.Session, project: Project, targets: list[str], label: str) -> str:
    """Run pytest with coverage data in reports/.coverage.<label> (stale data removed first).

    Failing tests become annotations and a step-summary table (from the JUnit XML), published
    before pytest's own exit code (anything but 0, e.g. 5 for no tests) fails the session.
    """
    project.reports.mkdir(parents=True, exist_ok=True)
    data = coverage_file(project, label)
    for stale in project.reports.glob(f"{data.name}*"):
        stale.unlink()
    junit = junit_file(project, label)
    junit.unlink(missing_ok=True)
    title = f"pytest {label}"
    with group(title):
        try:
            session.run(
                *pytest_argv(project, targets, label, list(session.posargs)),
                env={"COVERAGE_FILE": str(data)},
            )
        except CommandFailed as exc:
            failures = read_report(junit, from_junit, project.root)
            # CommandFailed carries the exit code only from nox 2026.10 (not on Python 3.9).
            return_code: int | None = getattr(exc, "return_code", None)
            publish(title, failures or [failed_run(label, return_code)])
            raise
        report_file(title, junit, from_junit, project.root)
    return f"pytest: {junit_totals(junit.read_text(encoding='utf-8'))}"
