"""One answer per session to "what does this project already have?": `[tool.conveyor]` where
it says, else what the project's own files show."""

from __future__ import annotations

from dataclasses import dataclass

from conveyor.adopt import checker, sources, testing
from conveyor.config import Project

COVERAGE_GROUP = "coverage"
"""Conveyor's group with what it adds to a test run (coverage and pytest-cov), when declared."""


@dataclass(frozen=True)
class Adoption:
    """How the sessions run this project's tests and type checks."""

    runner: testing.Runner
    groups: tuple[str, ...]
    extras: tuple[str, ...]
    pytest: testing.PytestConfig | None
    checker: checker.Checker


def adopt(project: Project) -> Adoption:
    """The project's runner, test dependencies and checker (`[tool.conveyor]` overrides)."""
    files = sources.ProjectFiles.read(project.root)
    settings = project.settings
    groups = settings.test_groups
    if groups is None:
        groups = list(testing.groups_for_tests(files))
        if COVERAGE_GROUP in files.groups and COVERAGE_GROUP not in groups:
            groups.append(COVERAGE_GROUP)
    extras = settings.test_extras
    if extras is None:
        extras = list(testing.extras_for_tests(files))
    return Adoption(
        runner=settings.test_runner or testing.runner(files),
        groups=tuple(groups),
        extras=tuple(extras),
        pytest=testing.pytest_config(files),
        checker=checker.type_checker(files, settings.type_checker),
    )
