"""`types`: the project's type checker (mypy, pyright, basedpyright or ty) with its settings.

A checker the project configures runs with that configuration and the targets it names;
Conveyor's `mypy --strict` over the sources and tests applies only where the project
configures no checker. The output is printed, parsed into annotations and a step-summary
table under GitHub Actions; a blocking error (one that stops the checker) fails as such.
"""

from __future__ import annotations

from pathlib import Path

import nox

from conveyor.adopt import checker as checkers
from conveyor.adopt import sources
from conveyor.adopt.plan import Adoption, adopt
from conveyor.config import Project
from conveyor.errors import GateFailedError
from conveyor.reports.annotations import from_mypy, publish, relative, report_text
from conveyor.reports.github import Annotation, group
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._support import define, fail_on_findings
from conveyor.tools import pyright, ty
from conveyor.tools.diagnostics import Diagnostic

TYPING_GROUP = "typing"
MYPY_OK_CODES = (0, 1, 2)
"""mypy exits 1 when it reports type errors, 2 on a blocking error (read from its output)."""
MYPY_SUCCESS = "Success: no issues found"
MYPY_BLOCKING = "errors prevented further checking"
MYPY_CONFIGS = ("mypy.ini", ".mypy.ini", "setup.cfg")


def mypy_argv(paths: list[str], *, strict: bool = True) -> list[str]:
    """mypy (strict where Conveyor owns its settings), one `file:line: error: message  [code]`
    line per error (what from_mypy reads) whatever the project's own `pretty`/`error_summary`
    settings, and the summary line. No paths: the `files` of the project's config."""
    return [
        "mypy",
        *(["--strict"] if strict else []),
        "--no-pretty",
        "--no-color-output",
        "--error-summary",
        "--",
        *paths,
    ]


def mypy_targets(project: Project, checker: checkers.Checker) -> list[str]:
    """The project's `files` when its mypy config names them (no paths); else the paths its
    tox command checks; else the configured sources and tests."""
    if not checker.owned_by_conveyor:
        if checker.targets:
            return []
        if checker.command_targets:
            return list(checker.command_targets)
    return [*project.settings.src, *project.settings.tests]


def blocking_error(output: str) -> str | None:
    """The first error line when mypy stopped before checking everything, else None."""
    if MYPY_BLOCKING not in output:
        return None
    return next((line for line in output.splitlines() if "error:" in line), MYPY_BLOCKING)


def run_mypy(session: nox.Session, project: Project, checker: checkers.Checker) -> str:
    paths = mypy_targets(project, checker)
    strict = checker.owned_by_conveyor
    argv = mypy_argv(paths, strict=strict)
    with group("mypy"):
        output = str(session.run(*argv, silent=True, success_codes=list(MYPY_OK_CODES)))
        print(output, end="" if output.endswith("\n") else "\n", flush=True)
        findings = report_text("mypy", output, from_mypy, project.root)
    blocked = blocking_error(output)
    if blocked is not None:
        raise GateFailedError(
            f"mypy: blocking error, nothing was checked past it: {blocked.strip()}",
            hint="fix the error mypy names above (e.g. module paths, duplicate module names)",
        )
    where = ", ".join(paths) or f"the files in {checker.config}"
    errors = [finding for finding in findings if finding.level == "error"]
    fail_on_findings("mypy", errors, [where], hint="fix the types mypy names above")
    success = next((ln for ln in output.splitlines() if ln.startswith(MYPY_SUCCESS)), None)
    if success is None:
        raise GateFailedError(
            "mypy: failed without an error line Conveyor could read",
            hint="see mypy's output above",
        )
    settings = "--strict" if strict else f"settings of {checker.config}"
    return f"mypy ({settings}): {success}"


def _diagnostic_gate(
    tool: str,
    diagnostics: list[Diagnostic],
    project: Project,
    checker: checkers.Checker,
) -> str:
    """Print each diagnostic with its rule, publish them, fail on errors."""
    for diagnostic in diagnostics:
        print(diagnostic.describe(), flush=True)
    annotations = [
        Annotation(
            "error" if d.error else "warning",
            f"{d.rule}: {d.message}",
            file=relative(d.path, project.root),
            line=d.line,
            title=tool,
        )
        for d in diagnostics
    ]
    publish(tool, annotations)
    errors = [a for a in annotations if a.level == "error"]
    fail_on_findings(
        tool, errors, [f"the files {checker.config} names"], hint=f"fix the types {tool} names"
    )
    warnings = len(annotations) - len(errors)
    return f"{tool} ({checker.config}): no errors ({warnings} warning(s))"


def run_ty(session: nox.Session, project: Project, checker: checkers.Checker) -> str:
    with group("ty"):
        output = session.run(
            *ty.ty_argv(session.virtualenv.location), silent=True, success_codes=list(ty.OK_CODES)
        )
        diagnostics = ty.parse_report(str(output or ""))
    return _diagnostic_gate("ty", diagnostics, project, checker)


def run_pyright(session: nox.Session, project: Project, checker: checkers.Checker) -> str:
    program = checker.name
    python = str(Path(session.bin) / "python")
    with group(program):
        output = session.run(
            *pyright.pyright_argv(program, python),
            silent=True,
            success_codes=list(pyright.OK_CODES),
        )
        diagnostics = pyright.parse_report(str(output or ""), program)
    return _diagnostic_gate(program, diagnostics, project, checker)


def types(session: nox.Session, project: Project) -> str | None:
    """The project's type checker (default: mypy --strict over the sources and tests)."""
    plan = adopt(project)
    if not sync(session, project, *typing_groups(plan), extras=plan.extras):
        return None
    checker = plan.checker
    if checker.name == "mypy":
        return run_mypy(session, project, checker)
    if checker.name == "ty":
        return run_ty(session, project, checker)
    return run_pyright(session, project, checker)


def typing_groups(plan: Adoption) -> tuple[str, ...]:
    """The checker's group and what the test run installs (the tests import it too)."""
    return (TYPING_GROUP, *plan.groups)


def register(project: Project) -> None:
    plan = adopt(project)
    paths = (*project.settings.src, *project.settings.tests, *checkers.CONFIG_READ)
    inputs = Inputs(
        paths=(*paths, *MYPY_CONFIGS, *sources.READ),
        groups=typing_groups(plan),
        with_project=True,
        extras=plan.extras,
    )
    define(project, "types", types, python=project.tools_python, inputs=inputs)
