"""`lint`: ruff check (import order through the `I` rules) and ruff format --check.

A check never edits: `--no-fix` wins over a project's `[tool.ruff] fix = true`, and format
only checks. Paths follow `--`, so none is read as an option.

ruff check writes JSON under the reports directory; each finding is printed as
`file:line: CODE message` and, under GitHub Actions, becomes an annotation (the ten most
severe) and a row of the step-summary table.
"""

from __future__ import annotations

from pathlib import Path

import nox

from conveyor.config import Project
from conveyor.reports.annotations import from_ruff, report_file
from conveyor.reports.github import group
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._support import define, fail_on_findings, report_output

RUFF_OK_CODES = (0, 1)
"""ruff check exits 1 when it reports violations; 2 is a usage or configuration error."""
RUFF_CONFIGS = ("ruff.toml", ".ruff.toml")


def ruff_check_argv(paths: list[str], report: Path) -> list[str]:
    """ruff check that reports and never fixes, JSON into `report`."""
    return [
        "ruff",
        "check",
        "--no-fix",
        "--output-format=json",
        f"--output-file={report}",
        "--",
        *paths,
    ]


def ruff_format_argv(paths: list[str]) -> list[str]:
    """ruff format that only checks."""
    return ["ruff", "format", "--check", "--", *paths]


def lint(session: nox.Session, project: Project) -> str | None:
    """ruff check + ruff format --check over the sources and tests."""
    if not sync(session, project, "lint", only=True):
        return None
    paths = [*project.settings.src, *project.settings.tests]
    project.reports.mkdir(parents=True, exist_ok=True)
    report = project.reports / "ruff.json"
    with group("ruff check"):
        session.run(*ruff_check_argv(paths, report), success_codes=list(RUFF_OK_CODES))
        findings = report_file("ruff check", report, from_ruff, project.root)
        for finding in findings:
            print(f"{finding.file}:{finding.line}: {finding.message}", flush=True)
    with group("ruff format --check"):
        session.run(*ruff_format_argv(paths))
    fail_on_findings(
        "ruff check", findings, paths, hint="fix them (many with `uv run ruff check --fix`)"
    )
    return f"ruff check and ruff format --check: clean ({', '.join(paths)})"


def register(project: Project) -> None:
    paths = (*project.settings.src, *project.settings.tests)
    inputs = Inputs(
        paths=(*paths, *RUFF_CONFIGS),
        groups=("lint",),
        outputs=(report_output(project, "ruff.json"),),
    )
    define(project, "lint", lint, python=project.tools_python, inputs=inputs)
