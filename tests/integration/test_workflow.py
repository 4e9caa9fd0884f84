"""The thin workflow for real: the matrix follows the noxfile, and the `workflow` session's
linters (actionlint, zizmor offline) pass on ours and fail on a bad one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.cli import main
from conveyor.matrix import build_matrix, list_sessions
from conveyor.sessions.workflow import zizmor_argv
from conveyor.tools import actionlint
from tests.conftest import require_tool

NOXFILE = """\
import nox


@nox.session(python=["3.11", "3.12"], tags=["pipeline"])
def tests(session):
    pass


@nox.session(python="3.12", tags=["pipeline"], default=False)
def integration(session):
    pass


@nox.session(python="3.12", tags=["pipeline"])
def coverage(session):
    pass
"""
NEW_SESSION = """

@nox.session(python="3.12", tags=["pipeline"])
def docs(session):
    pass
"""
BAD_WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.head_commit.message }}"
      - run: echo ${{ matrix.pyhton }}
"""


def test_adding_a_session_adds_a_matrix_entry_without_editing_yaml(
    tmp_path: Path,
    repo_root: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.11"\n')
    (tmp_path / "noxfile.py").write_text(NOXFILE)
    before = build_matrix(list_sessions(tmp_path), exclude=["coverage"])
    assert before["include"] == [
        {"session": "tests-3.11", "python": "3.11"},
        {"session": "tests-3.12", "python": "3.12"},
        {"session": "integration", "python": "3.12"},
    ]
    workflow = (repo_root / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")

    (tmp_path / "noxfile.py").write_text(NOXFILE + NEW_SESSION)
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    assert main(["matrix", "--root", str(tmp_path), "--exclude", "coverage"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["include"] == [*before["include"], {"session": "docs", "python": "3.12"}]
    assert output.read_text().startswith("matrix={")
    assert (repo_root / ".github" / "workflows" / "ci.yml").read_text() == workflow


def test_workflow_session_passes_on_this_repository(repo_root: Path) -> None:
    require_tool("uv")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NOX_CURRENT_SESSION")}
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "workflow"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


@pytest.fixture
def bad_workflow(tmp_path: Path) -> Path:
    path = tmp_path / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True)
    path.write_text(BAD_WORKFLOW)
    return tmp_path


def test_actionlint_findings_are_parsed_from_a_real_run(bad_workflow: Path) -> None:
    binary = require_tool("actionlint")
    argv = actionlint.actionlint_argv([".github/workflows/ci.yml"])
    done = subprocess.run(
        [binary, *argv[1:]], cwd=bad_workflow, capture_output=True, text=True, check=False
    )
    assert done.returncode in actionlint.OK_CODES
    findings = actionlint.parse_report(done.stdout)
    by_line = {f.line: f for f in findings}
    assert by_line[8].kind == "expression"
    assert "pyhton" in by_line[8].message
    assert "potentially untrusted" in by_line[7].message


def test_zizmor_offline_fails_on_unpinned_and_injectable_steps(bad_workflow: Path) -> None:
    binary = require_tool("zizmor")
    argv = zizmor_argv([".github/workflows/ci.yml"], github=True)
    done = subprocess.run(
        [binary, *argv[1:]], cwd=bad_workflow, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "::error file=.github/workflows/ci.yml,line=7,title=template-injection::" in done.stdout
    assert "title=unpinned-uses" in done.stdout
