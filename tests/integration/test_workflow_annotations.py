"""The annotation parsers on real ruff, mypy, bandit and pytest output (not samples)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.reports import annotations as anno

MODULE = '''\
"""A module with one problem for each tool."""

import os


def run(command: str) -> str:
    """Runs `command` in a shell."""
    os.system(command)
    return 1
'''
TEST = """\
def test_fails() -> None:
    assert 1 + 1 == 3
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_bad.py").write_text(TEST, encoding="utf-8")
    return tmp_path


def tool(project: Path, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.stdout


def test_ruff_json(project: Path) -> None:
    text = tool(
        project, "ruff", "check", "--isolated", "--select", "F,S", "--output-format", "json", "."
    )
    found = anno.from_ruff(text, project)
    assert ("src/bad.py", 8, "S605") in {(a.file, a.line, a.message.split()[0]) for a in found}


def test_mypy_text(project: Path) -> None:
    found = anno.from_mypy(tool(project, "mypy", "--strict", "--no-incremental", "src"), project)
    assert [(a.file, a.line, a.level) for a in found] == [("src/bad.py", 9, "error")]
    assert found[0].message.endswith("[return-value]")


def test_bandit_json(project: Path) -> None:
    found = anno.from_bandit(tool(project, "bandit", "-q", "-f", "json", "-r", "src"), project)
    assert ("src/bad.py", 8, "error") in {(a.file, a.line, a.level) for a in found}


def test_pytest_junit(project: Path) -> None:
    report = project / "junit.xml"
    tool(project, "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", "tests")
    (found,) = anno.from_junit(report.read_text(encoding="utf-8"), project)
    assert (found.file, found.line, found.title) == ("tests/test_bad.py", 2, "pytest failure")
    assert found.message.startswith("test_fails: assert")
