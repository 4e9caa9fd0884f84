"""How a project runs its tests: the runner, where its settings live, its test dependencies.

pytest finds its own settings (pytest.ini, pyproject, tox.ini `[pytest]`, setup.cfg); Conveyor
only needs to know whether the project names its test paths (`testpaths`), so it passes none of
its own and the project's doctest modules are still collected. A suite with no pytest anywhere
runs under unittest's own discovery, which honours `load_tests` hooks (pytest's does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from conveyor.adopt.sources import PYPROJECT, SETUP_CFG, TOX_INI, ProjectFiles, requirement_name

Runner = Literal["pytest", "unittest"]
TEST_NAMES = ("test", "tests", "testing")
"""Group and extra names that hold test dependencies by convention."""
_UNITTEST_COMMAND = re.compile(r"\bunittest\b")


@dataclass(frozen=True)
class PytestConfig:
    """Where pytest reads the project's settings, and the test paths they name."""

    location: str
    testpaths: tuple[str, ...]


def pytest_config(files: ProjectFiles) -> PytestConfig | None:
    """The file pytest itself would take its settings from at the root (its own order)."""
    if files.pytest_ini is not None:
        return _from_ini(files, files.pytest_ini_name, "pytest")
    options = files.tool.get("pytest", {})
    if isinstance(options, dict) and isinstance(options.get("ini_options"), dict):
        paths = options["ini_options"].get("testpaths", [])
        paths = paths.split() if isinstance(paths, str) else [str(p) for p in paths]
        return PytestConfig(f"{PYPROJECT} [tool.pytest.ini_options]", tuple(paths))
    if files.tox is not None and files.tox.has_section("pytest"):
        return _from_ini(files, TOX_INI, "pytest")
    if files.setup_cfg is not None and files.setup_cfg.has_section("tool:pytest"):
        return _from_ini(files, SETUP_CFG, "tool:pytest")
    return None


def _from_ini(files: ProjectFiles, name: str, section: str) -> PytestConfig:
    parser = {TOX_INI: files.tox, SETUP_CFG: files.setup_cfg}.get(name, files.pytest_ini)
    value = parser.get(section, "testpaths", fallback="") if parser is not None else ""
    return PytestConfig(f"{name} [{section}]", tuple(value.split()))


def declared_requirements(files: ProjectFiles) -> list[str]:
    """Every requirement the project declares for development: groups, extras, tox deps."""
    found = [r for name in files.groups for r in files.group_requirements(name)]
    found += [r for name in files.extras for r in files.extra_requirements(name)]
    found += [dep for section in files.tox_sections() for dep in files.tox_deps(section)]
    return found


def declares(files: ProjectFiles, package: str) -> bool:
    """True when any group, extra or tox env of the project requires `package`."""
    return any(requirement_name(r) == package for r in declared_requirements(files))


def runner(files: ProjectFiles) -> Runner:
    """pytest when the project configures or declares it; unittest when its commands run
    unittest and it has no pytest anywhere; pytest otherwise (it runs unittest suites too)."""
    if pytest_config(files) is not None or declares(files, "pytest"):
        return "pytest"
    commands = " ".join(files.tox_value("commands", s) for s in files.tox_sections())
    if _UNITTEST_COMMAND.search(commands) or _tests_use_unittest(files):
        return "unittest"
    return "pytest"


def _tests_use_unittest(files: ProjectFiles) -> bool:
    """True when the test modules import unittest (and the project has no pytest at all)."""
    for directory in ("tests", "test"):
        for path in sorted((files.root / directory).rglob("test*.py"))[:50]:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if re.search(r"^\s*(import unittest|from unittest\b)", text, re.MULTILINE):
                return True
    return False


def extras_for_tests(files: ProjectFiles) -> tuple[str, ...]:
    """The extras tox installs for its test env, else the declared extras named like tests."""
    declared = files.extras
    from_tox = [e for e in _tox_list(files, "extras") if e in declared]
    if from_tox:
        return tuple(dict.fromkeys(from_tox))
    return tuple(name for name in declared if name in TEST_NAMES)


def groups_for_tests(files: ProjectFiles) -> tuple[str, ...]:
    """The dependency groups tox names for its test env, else the declared ones named like tests."""
    declared = files.groups
    from_tox = [g for g in _tox_list(files, "dependency_groups") if g in declared]
    if from_tox:
        return tuple(dict.fromkeys(from_tox))
    return tuple(name for name in declared if name in TEST_NAMES)


def _tox_list(files: ProjectFiles, key: str) -> list[str]:
    return [item for line in files.tox_value(key).split() for item in line.split(",") if item]
