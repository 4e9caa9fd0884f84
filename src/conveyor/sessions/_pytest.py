"""One test run with coverage: its own data file and JUnit XML under the reports directory.

The run is the project's: pytest with the project's settings (wherever they live) and test
paths, or unittest's own discovery (with its `load_tests` hooks) for a unittest suite. What
Conveyor adds is only the measurement (the project's coverage config, or its sources) and
the reports; the generated noxfile.py and tasks.py are never collected or measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nox
from nox.command import CommandFailed

from conveyor.adopt import coverage as coverage_config
from conveyor.adopt import sources
from conveyor.adopt.plan import Adoption
from conveyor.config import Project
from conveyor.errors import GateFailedError
from conveyor.reports.annotations import (
    JunitTotals,
    from_junit,
    junit_totals,
    publish,
    read_report,
    report_file,
)
from conveyor.reports.github import Annotation, group
from conveyor.sessions._cache import Inputs
from conveyor.sessions._support import report_output

GENERATED = ("noxfile.py", "tasks.py")
"""What `conveyor init` writes at the root: never collected as tests, never measured."""
UNITTEST_RUNNER = Path(__file__).with_name("_unittest_runner.py")


def pytest_inputs(project: Project, plan: Adoption) -> Inputs:
    """A test run reads anything in the tree (fixtures, docs it checks, config), installs the
    project with its test groups and extras, and leaves coverage data and JUnit XML for later
    sessions."""
    return Inputs(
        paths=(".",),
        groups=plan.groups,
        with_project=True,
        extras=plan.extras,
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


def generated_files(project: Project) -> list[str]:
    """The root files `conveyor init` wrote (they name Conveyor), which tests never import."""
    found = []
    for name in GENERATED:
        path = project.root / name
        try:
            if path.is_file() and "conveyor" in path.read_text(encoding="utf-8").lower():
                found.append(name)
        except (OSError, UnicodeDecodeError):
            continue
    return found


def measured(project: Project) -> list[str]:
    """What coverage measures: nothing of ours when the project's config names its sources
    (an empty list keeps it), else the configured sources."""
    files = sources.ProjectFiles.read(project.root)
    if coverage_config.measures_own_sources(files):
        return []
    return list(project.settings.src)


def suite_targets(project: Project, plan: Adoption, kind: str = "unit") -> list[str]:
    """`tests/unit` when the project splits its suites; none when the project's pytest config
    names its own `testpaths` (so its doctest modules are collected); else the tests paths."""
    split = suite_dirs(project, kind)
    if split:
        return split
    if plan.runner == "pytest" and plan.pytest is not None and plan.pytest.testpaths:
        return []
    return list(project.settings.tests)


def pytest_argv(
    project: Project,
    targets: Sequence[str],
    label: str,
    posargs: Sequence[str],
    *,
    sources_to_measure: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
) -> list[str]:
    """pytest over `targets` (none: the project's testpaths), measuring the sources (a bare
    `--cov` keeps the project's own coverage `source`), one JUnit XML per run."""
    measure = list(project.settings.src) if sources_to_measure is None else sources_to_measure
    cov = [f"--cov={path}" for path in measure] or ["--cov"]
    junit = junit_file(project, label)
    # Per-run data is partial: thresholds are judged on the combined data (`coverage`).
    partial = "--cov-fail-under=0"
    skip = [f"--ignore={name}" for name in ignore]
    return [
        "pytest",
        *targets,
        *cov,
        "--cov-report=",
        partial,
        f"--junitxml={junit}",
        *skip,
        *posargs,
    ]


def unittest_argv(
    project: Project,
    starts: Sequence[str],
    label: str,
    posargs: Sequence[str],
    *,
    sources_to_measure: Sequence[str],
) -> list[str]:
    """`coverage run` of unittest's discovery under each start directory, one JUnit XML."""
    source = [f"--source={','.join(sources_to_measure)}"] if sources_to_measure else []
    names = [arg for name in posargs for arg in ("-k", name)]
    return [
        "coverage",
        "run",
        *source,
        str(UNITTEST_RUNNER),
        f"--junit={junit_file(project, label)}",
        *names,
        *starts,
    ]


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


def run_tests(
    session: nox.Session, project: Project, plan: Adoption, targets: list[str], label: str
) -> str:
    """Run the project's suite with coverage data in reports/.coverage.<label> (stale data
    removed first): pytest, or unittest's discovery under each of `targets`.

    Failing tests become annotations and a step-summary table (from the JUnit XML), published
    before the runner's own exit code (anything but 0, e.g. 5 for no tests) fails the session.
    """
    project.reports.mkdir(parents=True, exist_ok=True)
    data = coverage_file(project, label)
    for stale in project.reports.glob(f"{data.name}*"):
        stale.unlink()
    junit = junit_file(project, label)
    junit.unlink(missing_ok=True)
    title = f"{plan.runner} {label}"
    measure = measured(project)
    if plan.runner == "unittest":
        argv = unittest_argv(project, targets, label, session.posargs, sources_to_measure=measure)
    else:
        argv = pytest_argv(
            project,
            targets,
            label,
            session.posargs,
            sources_to_measure=measure,
            ignore=generated_files(project),
        )
    with group(title):
        try:
            session.run(*argv, env={"COVERAGE_FILE": str(data)})
        except CommandFailed as exc:
            failures = read_report(junit, from_junit, project.root)
            # CommandFailed carries the exit code only from nox 2026.10 (not on Python 3.9).
            return_code: int | None = getattr(exc, "return_code", None)
            publish(title, failures or [failed_run(label, return_code)])
            raise
        report_file(title, junit, from_junit, project.root)
    return f"{plan.runner}: {ran_tests(title, junit)}"


def ran_tests(title: str, junit: Path) -> JunitTotals:
    """The totals of a run that exited 0; a run in which no test ran checked nothing and
    fails (`--collect-only`, `--help`, every test skipped)."""
    hint = (
        "drop options that stop the runner before its tests run (--collect-only, --help), "
        "or see why every test was skipped (pytest's `-rs`)"
    )
    if not junit.is_file():
        raise GateFailedError(f"{title}: no test ran (the run wrote no JUnit XML)", hint=hint)
    totals = junit_totals(junit.read_text(encoding="utf-8"))
    if not totals.ran:
        raise GateFailedError(f"{title}: no test ran ({totals})", hint=hint)
    return totals
