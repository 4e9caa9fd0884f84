"""Fixture projects that adopt Conveyor with `conveyor init`, the way a user's project would.

Each consumer depends on this checkout through `--conveyor-source`, is locked with a real
`uv lock`, and runs its sessions through `uv run nox` in its own environment.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

from conveyor.cli import main
from tests.conftest import REPO_ROOT

SCRUBBED_ENV = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "NOX_CURRENT_SESSION", "GITHUB_ACTIONS")
BUILD_SYSTEM = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""
MODULE = '''\
"""A tiny service."""


def double(value: int) -> int:
    """Twice `value`."""
    return value * 2
'''
TEST = """\
from {package} import double


def test_double() -> None:
    assert double(2) == 4
"""
LONG_LINE_MODULE = '''\
"""A module whose one long line passes only with the project's own ruff line length."""


def describe(value: int) -> str:
    """A sentence."""
    return f"the value is {value}, which this deliberately long line reports in one f-string"
'''


def consumer_env() -> dict[str, str]:
    """The environment without the enclosing nox session's venv settings."""
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}


def write_consumer(root: Path, kind: str) -> Path:
    """One of the fixture kinds: src, flat, configured (own ruff/mypy config), no-tests."""
    package = "svc_" + kind.replace("-", "_")
    name = package.replace("_", "-")
    pyproject = textwrap.dedent(
        f"""\
        [project]
        name = "{name}"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = []

        """
    )
    code_dir = root / package if kind == "flat" else root / "src" / package
    code_dir.mkdir(parents=True)
    (code_dir / "__init__.py").write_text(MODULE, encoding="utf-8")
    if kind == "configured":
        (code_dir / "describe.py").write_text(LONG_LINE_MODULE, encoding="utf-8")
        pyproject += textwrap.dedent(
            """\
            [tool.ruff]
            line-length = 120

            [tool.ruff.lint]
            select = ["E", "F", "I"]

            [tool.mypy]
            strict = true

            [dependency-groups]
            dev = ["ipython-genutils>=0.2"]

            """
        )
    if kind != "no-tests":
        (root / "tests").mkdir()
        (root / "tests" / "test_double.py").write_text(
            TEST.format(package=package), encoding="utf-8"
        )
    (root / "pyproject.toml").write_text(pyproject + BUILD_SYSTEM, encoding="utf-8")
    return root


def init(root: Path, *options: str) -> int:
    """`conveyor init` on `root`, depending on this checkout."""
    return main(["init", str(root), "--conveyor-source", str(REPO_ROOT), *options])


def run(
    root: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A command in the consumer, output captured."""
    return subprocess.run(
        argv,
        cwd=root,
        env=env or consumer_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def lock(root: Path) -> None:
    done = run(root, "uv", "lock", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr


def snapshot(root: Path) -> dict[str, str]:
    """Every file init may write (environments, caches and reports left out)."""
    skip = {".venv", ".nox", "reports", ".git", ".ruff_cache", ".mypy_cache", ".pytest_cache"}
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not skip.intersection(p.relative_to(root).parts)
        and "__pycache__" not in p.parts
    }
