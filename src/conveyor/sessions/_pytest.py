"""One pytest run with coverage: its own data file and JUnit XML under the reports directory."""

from __future__ import annotations

from pathlib import Path

import nox

from conveyor.config import Project


def suite_dirs(project: Project, kind: str) -> list[str]:
    """`tests/<kind>` for each configured test path that has one (e.g. tests/unit)."""
    return [
        f"{path}/{kind}" for path in project.settings.tests if (project.root / path / kind).is_dir()
    ]


def coverage_file(project: Project, label: str) -> Path:
    """reports/.coverage.<label>: what the `coverage` session combines."""
    return project.reports / f".coverage.{label}"


def pytest_argv(project: Project, targets: list[str], label: str, posargs: list[str]) -> list[str]:
    """pytest over `targets`, measuring the sources, one JUnit XML per run."""
    cov = [f"--cov={path}" for path in project.settings.src]
    junit = project.reports / f"junit-{label}.xml"
    return ["pytest", *targets, *cov, "--cov-report=", f"--junitxml={junit}", *posargs]


def run_pytest(session: nox.Session, project: Project, targets: list[str], label: str) -> None:
    """Run pytest with coverage data in reports/.coverage.<label> (stale data removed first)."""
    project.reports.mkdir(parents=True, exist_ok=True)
    data = coverage_file(project, label)
    for stale in project.reports.glob(f"{data.name}*"):
        stale.unlink()
    session.run(
        *pytest_argv(project, targets, label, list(session.posargs)),
        env={"COVERAGE_FILE": str(data)},
    )
