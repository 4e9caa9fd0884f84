"""`conveyor init` adopts three projects shaped like real ones (tests/fixtures/projects), then
`uv lock` and the sessions run green with no hand edits, each test run counting exactly what
the project's own runner counts; a planted lint error, type error and failing test still fail.

- src-extras-tox: src layout, test dependencies in the `tests` extra named by tox.ini, pytest
  settings (`--doctest-modules`, testpaths) in tox.ini's `[pytest]`, mypy strict in pyproject,
  `[tool.ruff] fix = true`, tool pins in tox envs.
- src-groups-ty: src layout, its own `test` group, ruff pinned (0.6.9, ALL + preview, required
  imports), ty instead of mypy, `fail_under = 100` with a coverage plugin needing
  `PYTHONPATH=tasks`, a docs group for Python >= 3.12, twine, a `dev` group without nox.
- flat-unittest: flat layout, stdlib unittest with doctests added by a `load_tests` hook, no
  lockfile, mypy configured in setup.cfg for the package only.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from conveyor.reports.annotations import junit_totals
from conveyor.sessions import typecheck
from conveyor.tools import pyright
from tests.conftest import REPO_ROOT, require_tool
from tests.integration._consumers import init, lock, run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "projects"
SESSIONS = ("lint", "types", "tests-3.12", "coverage", "security", "licenses")
NOX = ("uv", "run", "--frozen", "--group", "nox", "nox")
"""What init prints and writes into the workflow: nox from its group, whatever `dev` holds."""
OFFLINE = ("--safety-db", "safety-db", "--accept-stale-data", "no advisory API reachable here")
"""No vulnerability API is reachable here: safety checks the safety-db package's (2021) data."""
PLANTED_TEST = {
    "pytest": "def test_planted() -> None:\n    assert 1 == 2\n",
    "unittest": (
        "import unittest\n\n\nclass Planted(unittest.TestCase):\n"
        "    def test_planted(self):\n        self.assertEqual(1, 2)\n"
    ),
}


def adopt(tmp_path: Path, name: str) -> Path:
    """A copy of the fixture, adopted with `conveyor init` (offline advisory data) and locked."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    assert init(root, *OFFLINE) == 0
    lock(root)
    return root


def own_runner_count(root: Path, runner: str) -> int:
    """How many tests the project's own runner runs (in the session's environment)."""
    python = str(root / ".nox" / "tests-3-12" / "bin" / "python")
    if runner == "unittest":
        done = run(root, python, "-m", "unittest")
        match = re.search(r"^Ran (\d+) tests?", done.stderr, re.MULTILINE)
        assert done.returncode == 0, done.stdout + done.stderr
        assert match, done.stderr
        return int(match.group(1))
    own = root / "own-junit.xml"
    done = run(root, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={own}")
    assert done.returncode == 0, done.stdout + done.stderr
    return passed(own.read_text(encoding="utf-8"))


def passed(junit: str) -> int:
    return junit_totals(junit).passed


def plant_source_errors(module: Path) -> None:
    """An unused import (lint) and a wrong return type (types), in code no test runs."""
    text = module.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith(("import ", "from ")))
    lines.insert(cut + 1, "import os\n")
    lines.append('\n\ndef broken() -> int:\n    return "one"\n')
    module.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "runner", "module", "own_count"),
    [
        ("src-extras-tox", "pytest", "src/chronicle/durations.py", 12),
        ("src-groups-ty", "pytest", "src/ledgerline/entries.py", 4),
        ("flat-unittest", "unittest", "tinytext/slugs.py", 8),
    ],
)
def test_init_lock_and_every_session_green_then_planted_failures_fail(
    tmp_path: Path, name: str, runner: str, module: str, own_count: int
) -> None:
    require_tool("uv")
    root = adopt(tmp_path, name)
    done = run(root, *NOX, "-s", *SESSIONS)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for session in SESSIONS:
        assert f"Session {session} was successful" in output
    # Declared Pythons this machine lacks are named, not dropped.
    assert "Python 3.14" in output
    assert "not found" in output

    # The suite Conveyor ran is the project's: the same count as its own runner (doctests too).
    junit = (root / "reports" / "junit-tests-3.12.xml").read_text(encoding="utf-8")
    assert passed(junit) == own_runner_count(root, runner) == own_count
    # Generated files pass the project's own (pinned) ruff and are never measured.
    ruff = str(root / ".nox" / "lint" / "bin" / "ruff")
    for check in (["check", "--no-fix"], ["format", "--check"]):
        linted = run(root, ruff, *check, "noxfile.py", "tasks.py")
        assert linted.returncode == 0, linted.stdout + linted.stderr
    measured = (root / "reports" / "coverage.xml").read_text(encoding="utf-8")
    assert "noxfile.py" not in measured
    assert "tasks.py" not in measured

    plant_source_errors(root / module)
    type_error = "invalid-explicit-return" if name == "src-groups-ty" else "Incompatible return"
    for session, expected in (("lint", "F401"), ("types", type_error)):
        failed = run(root, *NOX, "-s", session)
        text = failed.stdout + failed.stderr
        assert failed.returncode != 0, text
        assert f"Session {session} failed" in text or f"Session {session} aborted" in text
        assert expected in text
    # The uncovered function: a per-Python run never applies fail_under (the ty project's is
    # 100); the coverage session judges the project's own bar on the combined data.
    partial = run(root, *NOX, "-s", "tests-3.12", "coverage")
    text = partial.stdout + partial.stderr
    assert "Session tests-3.12 was successful" in text
    if name == "src-groups-ty":
        assert partial.returncode != 0, text
        assert "is under the threshold 100% for every suite" in text
    else:
        assert partial.returncode == 0, text
    (root / "tests" / "test_planted.py").write_text(PLANTED_TEST[runner], encoding="utf-8")
    failed = run(root, *NOX, "-s", "tests-3.12")
    text = failed.stdout + failed.stderr
    assert failed.returncode != 0, text
    assert "Session tests-3.12 failed" in text
    assert "test_planted" in text


def test_each_project_keeps_its_pins_and_gets_what_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What init wrote for the pinned, ty-checked project: its own versions, computed conflicts."""
    require_tool("uv")
    root = tmp_path / "src-groups-ty"
    shutil.copytree(FIXTURES / "src-groups-ty", root)
    assert init(root, *OFFLINE) == 0
    printed = capsys.readouterr().out
    assert "tests: pytest (settings in pyproject.toml [tool.pytest.ini_options])" in printed
    assert "types: ty (pyproject.toml [tool.ty])" in printed
    assert "test dependencies: group test (installed from uv.lock)" in printed
    assert "Python 3.14, 3.15: declared but not found here" in printed
    assert "`uv run --group nox nox -l`" in printed
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    groups = data["dependency-groups"]
    assert groups["lint"] == ["ruff==0.6.9"]  # the project's pin, not Conveyor's newest
    assert groups["typing"][0] == "ty==0.0.107"
    assert groups["test"] == ["pytest>=8.3", "coverage[toml]>=7.6"]  # the project's own
    assert data["tool"]["conveyor"]["env"] == {"PYTHONPATH": "tasks"}
    security = data["tool"]["conveyor"]["security"]
    assert security["safety-db"] == "safety-db"
    assert security["accept-stale-data"] == {"reason": "no advisory API reachable here"}
    apart = {
        next(iter(m.values()))
        for pair in data["tool"]["uv"]["conflicts"]
        for m in pair
        if m != {"group": "safety"}
    }
    assert {"release", "docs", "dev", "test", "nox"} <= apart  # each pulls packaging>=22
    assert not {"lint", "bandit", "scanners"} & apart  # nothing forces these apart


def test_the_commands_init_prints_work_where_dev_lacks_nox(tmp_path: Path) -> None:
    """nox, conveyor and pre-commit each come from the group the printed command names."""
    require_tool("uv")
    root = adopt(tmp_path, "src-groups-ty")
    groups = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert "nox" not in str(groups["dependency-groups"]["dev"])  # the project's own dev group
    hooks = run(root, "uv", "run", "--frozen", "--group", "hooks", "pre-commit", "--version")
    assert hooks.returncode == 0, hooks.stdout + hooks.stderr
    doctor = run(root, "uv", "run", "--frozen", "--group", "nox", "conveyor", "doctor", ".")
    table = doctor.stdout
    assert "safety conflicts" in table, doctor.stdout + doctor.stderr
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if "│" in line}
    assert "present" in rows["safety conflicts"]  # what init computed still holds
    assert " no " in rows["gitleaks"]  # no Docker, no gitleaks hook: not required
    assert "missing" in rows["python3.15"]  # declared, not on this machine: named
    assert doctor.returncode == 1  # a declared Python is missing: the pipeline lacks it


def test_a_blocking_mypy_error_is_reported_as_such(tmp_path: Path) -> None:
    """A real mypy that stops early (two modules named `conftest`): named, never green."""
    for part in ("a", "b"):
        (tmp_path / part).mkdir()
        (tmp_path / part / "conftest.py").write_text("x: int = 1\n", encoding="utf-8")
    argv = typecheck.mypy_argv(["a", "b"], strict=False)
    done = run(tmp_path, sys.executable, "-m", *argv)
    assert done.returncode == 2, done.stdout + done.stderr
    blocked = typecheck.blocking_error(done.stdout + done.stderr)
    assert blocked is not None
    assert "conftest" in blocked


def test_basedpyright_reports_what_the_adapter_reads(tmp_path: Path) -> None:
    """A real basedpyright (`--outputjson`) on a project that configures it: the rule, file
    and line of a wrong return type, as the `types` session reads them."""
    require_tool("uv")
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    for argv in (
        ("uv", "venv", "-q", "--python", sys.executable, str(venv)),
        ("uv", "pip", "install", "-q", "--python", python, "basedpyright==1.40.2"),
    ):
        done = run(tmp_path, *argv)
        assert done.returncode == 0, done.stdout + done.stderr
    project = tmp_path / "checked"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "checked"\nversion = "0"\n\n[tool.basedpyright]\ninclude = ["src"]\n'
    )
    (project / "src" / "mod.py").write_text('def one() -> int:\n    return "one"\n')
    checker = pyright.pyright_argv(str(venv / "bin" / "basedpyright"), python)
    done = run(project, *checker)
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [d for d in pyright.parse_report(done.stdout, "basedpyright") if d.error]
    assert [(d.rule, Path(d.path).name, d.line) for d in errors] == [
        ("reportReturnType", "mod.py", 2)
    ]
