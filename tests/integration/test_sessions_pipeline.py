"""Conveyor's nox sessions run for real (nox, uv, ruff, mypy, pytest, bandit, safety,
pip-licenses) on small fixture projects locked with `uv lock`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool

TOOL_PINS = {
    "lint": ["ruff==0.17.6"],
    "typing": ["mypy==2.4.1", {"include-group": "test"}],
    "test": ["pytest==9.2.0", "pytest-cov==7.1.0"],
    "bandit": ["bandit==1.9.4"],
    "safety": ["safety==2.3.5", "safety-db==2021.7.17"],
    "licenses": ["pip-licenses==5.5.5"],
}
CONFLICTS = '[[{ group = "safety" }, { group = "test" }], [{ group = "safety" }, { group = "typing" }]]'
NOXFILE = """\
import nox

import conveyor.sessions

nox.options.default_venv_backend = "uv"
conveyor.sessions.register()
"""
PACKAGE = '''\
"""A tiny package."""


def double(value: int) -> int:
    """Twice `value`."""
    return value * 2
'''
UNIT_TEST = """\
from demo import double


def test_double() -> None:
    assert double(2) == 4
"""


def _toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f'{k} = "{v}"' for k, v in value.items()) + " }"
    return json.dumps(value)


def write_project(
    root: Path,
    *,
    dependencies: tuple[str, ...] = ("typing-extensions==4.16.0",),
    conveyor: str = "",
    groups: dict[str, list[object]] | None = None,
) -> Path:
    """A src-layout project with a noxfile calling Conveyor; `conveyor` is extra TOML."""
    (root / "src" / "demo").mkdir(parents=True)
    (root / "tests" / "unit").mkdir(parents=True)
    (root / "src" / "demo" / "__init__.py").write_text(PACKAGE)
    (root / "src" / "demo" / "py.typed").write_text("")
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "unit" / "__init__.py").write_text("")
    (root / "tests" / "unit" / "test_demo.py").write_text(UNIT_TEST)
    (root / "noxfile.py").write_text(NOXFILE)
    group_lines = "\n".join(
        f"{name} = [{', '.join(_toml_value(v) for v in pins)}]"
        for name, pins in (TOOL_PINS if groups is None else groups).items()
    )
    deps = ", ".join(json.dumps(d) for d in dependencies)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "demo"
            version = "0.1.0"
            requires-python = ">=3.12"
            dependencies = [{deps}]

            [dependency-groups]
            """
        )
        + group_lines
        + textwrap.dedent(
            f"""

            [tool.uv]
            conflicts = {CONFLICTS}

            [tool.mypy]
            strict = true

            [tool.coverage.run]
            branch = true

            [tool.conveyor]
            src = ["src"]
            tests = ["tests"]
            python = ["3.12"]
            tools-python = "3.12"
            coverage-fail-under = 90

            [tool.conveyor.security]
            safety-db = "safety-db"
            """
        )
        + conveyor
    )
    return root


def uv_lock(root: Path) -> None:
    subprocess.run(["uv", "lock", "--quiet"], cwd=root, check=True, timeout=300)


def nox(root: Path, *args: str, ci: bool | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m nox` in `root` with this interpreter (which has Conveyor installed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NOX_CURRENT_SESSION")}
    if ci is False:
        env.pop("CI", None)
    elif ci:
        env["CI"] = "true"
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "nox", "--noxfile", str(root / "noxfile.py"), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
