"""`workflow`: actionlint and zizmor (offline) over every GitHub Actions workflow; findings fail."""

from __future__ import annotations

from pathlib import Path

import nox

from conveyor.config import Project
from conveyor.errors import ConfigError, GateFailedError
from conveyor.reports.annotations import publish
from conveyor.reports.github import group, in_github_actions
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._support import define
from conveyor.tools import actionlint

WORKFLOWS_DIR = ".github/workflows"


def workflow_files(root: Path) -> list[str]:
    """Every workflow file, relative to the project root."""
    found = [*(root / WORKFLOWS_DIR).glob("*.yml"), *(root / WORKFLOWS_DIR).glob("*.yaml")]
    return sorted(str(path.relative_to(root)) for path in found)


def zizmor_argv(files: list[str], *, github: bool) -> list[str]:
    """zizmor offline (no GitHub API), annotations as its output format under Actions."""
    output = ["--format", "github"] if github else []
    return ["zizmor", "--offline", "--no-progress", *output, *files]


def workflow(session: nox.Session, project: Project) -> str | None:
    """actionlint, then zizmor offline, over .github/workflows/*; any finding fails."""
    files = workflow_files(project.root)
    if not files:
        raise ConfigError(
            f"{project.root / WORKFLOWS_DIR}: no workflow files to lint",
            hint="`conveyor init` writes .github/workflows/ci.yml",
        )
    if not sync(session, project, "workflow", only=True):
        return None
    with group("actionlint"):
        output = session.run(
            *actionlint.actionlint_argv(files),
            silent=True,
            success_codes=list(actionlint.OK_CODES),
        )
        findings = actionlint.parse_report(str(output or ""))
        for finding in findings:
            print(finding.describe())
    publish("actionlint", [f.annotation() for f in findings])
    if findings:
        raise GateFailedError(f"actionlint: {len(findings)} finding(s) in {', '.join(files)}")
    with group("zizmor"):
        session.run(*zizmor_argv(files, github=in_github_actions()))
    return f"actionlint and zizmor: no findings in {', '.join(files)}"


def register(project: Project) -> None:
    inputs = Inputs(paths=(WORKFLOWS_DIR,), groups=("workflow",))
    define(project, "workflow", workflow, python=project.tools_python, inputs=inputs)
