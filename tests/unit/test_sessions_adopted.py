"""Sessions on an adopted project: the runner's argv, the checker's argv and output, the
project's coverage settings, the unittest runner (real nox runs of each:
tests/integration/test_adopt_projects.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conveyor.adopt.checker import Checker
from conveyor.adopt.plan import adopt
from conveyor.config import load_project
from conveyor.errors import ConfigError, GateFailedError, ToolFailedError
from conveyor.reports.annotations import ruff_rule
from conveyor.sessions import _install, _pytest, _unittest_runner, coverage, typecheck
from conveyor.tools import pyright, ty
from conveyor.tools.diagnostics import Diagnostic

PYPROJECT = """\
[project]
name = "lib"
requires-python = ">=3.10"

[project.optional-dependencies]
tests = ["freezegun"]

[dependency-groups]
test = ["pytest"]
coverage = ["coverage", "pytest-cov"]

[tool.conveyor]
src = ["src/lib"]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    return tmp_path


def test_pytest_keeps_the_projects_testpaths_and_coverage_source(root: Path) -> None:
    (root / "tox.ini").write_text("[pytest]\ntestpaths = tests src\n", encoding="utf-8")
    (root / "noxfile.py").write_text("import conveyor.sessions\n", encoding="utf-8")
    (root / "tasks.py").write_text("def mine(): ...\n", encoding="utf-8")  # the project's own
    project = load_project(root)
    plan = adopt(project)
    assert (plan.groups, plan.extras) == (("test", "coverage"), ("tests",))
    assert _pytest.suite_targets(project, plan) == []  # pytest takes tox.ini's testpaths
    assert _pytest.generated_files(project) == ["noxfile.py"]
    argv = _pytest.pytest_argv(
        project, [], "tests-3.12", [], sources_to_measure=[], ignore=["noxfile.py"]
    )
    assert argv[:4] == ["pytest", "--cov", "--cov-report=", "--cov-fail-under=0"]
    assert "--ignore=noxfile.py" in argv
    assert _pytest.measured(project) == ["src/lib"]
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    (root / "pyproject.toml").write_text(text + '\n[tool.coverage.run]\nsource = ["lib"]\n')
    assert _pytest.measured(load_project(root)) == []  # the project's own `source` decides


def test_a_unittest_suite_runs_under_coverage_and_unittests_discovery(root: Path) -> None:
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    (root / "pyproject.toml").write_text(text + 'test-runner = "unittest"\n', encoding="utf-8")
    project = load_project(root)
    plan = adopt(project)
    assert _pytest.suite_targets(project, plan) == ["tests"]
    argv = _pytest.unittest_argv(
        project, ["tests"], "tests-3.12", ["Slug"], sources_to_measure=["lib"]
    )
    assert argv[:4] == ["coverage", "run", "--source=lib", str(_pytest.UNITTEST_RUNNER)]
    assert argv[-3:] == ["-k", "Slug", "tests"]


def test_sync_installs_groups_and_extras_and_names_a_missing_extra(root: Path) -> None:
    argv = _install.sync_argv(["test", "test"], python="py", project_root=root, extras=["tests"])
    assert argv[-6:] == ["--group", "test", "--extra", "tests", "--python", "py"]
    (root / "uv.lock").write_text("version = 1\n")
    with pytest.raises(ConfigError, match="has no 'docs' extra"):
        _install.require_groups(load_project(root), ["test"], ["docs"])


def test_mypy_targets_respect_who_owns_the_settings(root: Path) -> None:
    project = load_project(root)
    assert typecheck.mypy_targets(project, Checker("mypy", None)) == ["src/lib", "tests"]
    configured = Checker("mypy", "setup.cfg [mypy]", ("lib",))
    assert typecheck.mypy_targets(project, configured) == []  # its config's `files`
    from_tox = Checker("mypy", "pyproject.toml [tool.mypy]", (), ("src", "tests"))
    assert typecheck.mypy_targets(project, from_tox) == ["src", "tests"]
    assert typecheck.mypy_targets(project, Checker("mypy", "mypy.ini")) == ["src/lib", "tests"]
    assert "--strict" not in typecheck.mypy_argv([], strict=False)


def test_a_blocking_mypy_error_is_named() -> None:
    output = (
        "tests/conftest.py: error: Duplicate module named 'conftest' (also at 'a/conftest.py')\n"
        "Found 1 error in 1 file (errors prevented further checking)\n"
    )
    assert typecheck.blocking_error(output) == output.splitlines()[0]
    assert typecheck.blocking_error("Success: no issues found in 3 source files\n") is None


TY_OUTPUT = """\
WARN ignoring something
[
  {"check_name": "invalid-return-type", "description": "invalid-return-type: bad return",
   "severity": "major", "fingerprint": "1",
   "location": {"path": "src/a.py", "positions": {"begin": {"line": 3, "column": 1}}}},
  {"check_name": "unused-ignore-comment", "description": "unused",
   "severity": "minor", "fingerprint": "2",
   "location": {"path": "src/b.py", "positions": {"begin": {"line": 1, "column": 1}}}}
]
"""


def test_ty_gitlab_json_becomes_diagnostics() -> None:
    assert ty.ty_argv("/venv")[:3] == ["ty", "check", "--python"]
    first, second = ty.parse_report(TY_OUTPUT)
    assert first == Diagnostic("invalid-return-type", "bad return", "src/a.py", 3, True)
    assert first.describe() == "src/a.py:3: error[invalid-return-type] bad return"
    assert not second.error
    assert ty.parse_report("[]") == []
    with pytest.raises(ToolFailedError, match="ty: unreadable JSON"):
        ty.parse_report("error: no such option")


def test_pyright_json_becomes_diagnostics() -> None:
    report = {
        "generalDiagnostics": [
            {"file": "/p/src/a.py", "severity": "error", "message": "bad\nmore",
             "range": {"start": {"line": 0}}, "rule": "reportReturnType"},
            {"file": "/p/src/a.py", "severity": "information", "message": "fyi",
             "range": {"start": {"line": 4}}},
            {"file": "/p/src/b.py", "severity": "warning", "message": "hmm",
             "range": {"start": {"line": 1}}},
        ],
        "summary": {"errorCount": 1},
    }  # fmt: skip
    found = pyright.parse_report(json.dumps(report), "basedpyright")
    assert found == [
        Diagnostic("reportReturnType", "bad", "/p/src/a.py", 1, True),
        Diagnostic("basedpyright", "hmm", "/p/src/b.py", 2, False),
    ]
    assert pyright.pyright_argv("pyright", "/v/bin/python") == [
        "pyright", "--outputjson", "--pythonpath", "/v/bin/python",
    ]  # fmt: skip
    with pytest.raises(ToolFailedError, match="pyright: unreadable JSON"):
        pyright.parse_report("npm ERR!")


def test_the_projects_coverage_settings_are_read_from_coverage_itself() -> None:
    printed = 'plugin says hi\n{"fail_under": 100.0, "omit": ["*/vendored/*"]}\n'
    assert coverage.parse_project_settings(printed) == coverage.ProjectCoverage(
        100.0, ("*/vendored/*",)
    )
    assert coverage.parse_project_settings('{"fail_under": 0, "omit": []}').fail_under is None
    with pytest.raises(ToolFailedError, match="cannot read the project's coverage settings"):
        coverage.parse_project_settings("Traceback ...\nModuleNotFoundError: rules")


def test_ruff_findings_without_a_code_get_a_readable_rule() -> None:
    assert ruff_rule({"code": "F401", "message": "unused"}) == "F401"
    assert ruff_rule({"code": None, "message": "SyntaxError: bad"}) == "syntax-error"
    url = {"code": None, "message": "x", "url": "https://docs.astral.sh/ruff/rules/io-error"}
    assert ruff_rule(url) == "io-error"
    assert ruff_rule({"code": None, "message": "x", "url": None}) == "ruff-error"


def test_the_unittest_runner_counts_load_tests_doctests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real unittest run: `load_tests` doctests are counted like `python -m unittest`."""
    (tmp_path / "mod_under_test.py").write_text(
        'def one():\n    """\n    >>> one()\n    1\n    """\n    return 1\n'
    )
    tests = tmp_path / "adopted_suite"  # not `tests`: that package is this repository's
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "test_a.py").write_text(
        textwrap.dedent(
            """\
            import doctest
            import unittest

            import mod_under_test


            class A(unittest.TestCase):
                def test_ok(self):
                    pass

                def test_bad(self):
                    self.assertEqual(1, 2)

                @unittest.skip("later")
                def test_later(self):
                    pass


            def load_tests(loader, suite, pattern):
                suite.addTests(doctest.DocTestSuite(mod_under_test))
                return suite
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    junit = tmp_path / "junit.xml"
    assert _unittest_runner.main(["--junit", str(junit), "adopted_suite"]) == 1
    text = junit.read_text(encoding="utf-8")
    assert 'tests="4" failures="1" errors="0" skipped="1"' in text
    assert 'classname="mod_under_test" name="one"' in text
    assert _unittest_runner.main(["--junit", str(junit), "-k", "test_ok", "adopted_suite"]) == 0
    # As with `python -m unittest -k`: the name filter picks test methods; load_tests' own
    # additions (the doctest) still run.
    assert 'tests="2" failures="0"' in junit.read_text(encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _unittest_runner.main(["--junit", str(junit), "empty"]) == _unittest_runner.NO_TESTS


def test_checker_diagnostics_fail_on_errors_and_pass_with_warnings(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = load_project(root)
    checker = Checker("ty", "pyproject.toml [tool.ty]")
    warning = Diagnostic("unused-ignore-comment", "unused", str(root / "src/b.py"), 1, False)
    summary = typecheck._diagnostic_gate("ty", [warning], project, checker)
    assert summary == "ty (pyproject.toml [tool.ty]): no errors (1 warning(s))"
    assert "src/b.py:1: warning[unused-ignore-comment] unused" in capsys.readouterr().out
    error = Diagnostic("invalid-return-type", "bad", "src/a.py", 3, True)
    with pytest.raises(GateFailedError, match=r"ty: 1 problem\(s\) in the files pyproject"):
        typecheck._diagnostic_gate("ty", [error, warning], project, checker)
    assert "src/a.py:3: error[invalid-return-type] bad" in capsys.readouterr().out
