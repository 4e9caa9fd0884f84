"""The session result cache: fingerprints, hits with outputs restored, failures forgotten.

Real nox runs of cached sessions: tests/integration/test_session_cache.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import conveyor
from conveyor.sessions import _cache
from conveyor.sessions._cache import Inputs, ResultCache, environment_inputs, forced


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "mod.py").write_text("x = 1\n")
    (tmp_path / "docs.md").write_text("docs\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\n')
    (tmp_path / "reports").mkdir()
    return tmp_path


def fingerprint(cache: ResultCache, inputs: Inputs, **kw: object) -> str:
    return cache.fingerprint("lint", inputs, interpreter="3.12|/py|3.12.1", **kw)  # type: ignore[arg-type]


def test_a_fingerprint_changes_with_exactly_what_the_session_reads(project: Path) -> None:
    cache = ResultCache(project, "svc")
    src_only = Inputs(paths=("src",))
    first = fingerprint(cache, src_only)
    (project / "docs.md").write_text("other docs\n")
    assert fingerprint(ResultCache(project, "svc"), src_only) == first
    (project / "src" / "mod.py").write_text("x = 2\n")
    assert fingerprint(ResultCache(project, "svc"), src_only) != first
    again = fingerprint(ResultCache(project, "svc"), src_only)
    assert fingerprint(ResultCache(project, "svc"), src_only, posargs=["-k", "x"]) != again
    assert fingerprint(ResultCache(project, "svc"), src_only, env={"A": "1"}) != again
    (project / "pyproject.toml").write_text('[project]\nname = "svc"\n# config\n')
    assert fingerprint(ResultCache(project, "svc"), src_only) != again


def test_a_daily_session_gets_a_new_fingerprint_each_day(project: Path) -> None:
    cache = ResultCache(project, "svc")
    daily = Inputs(paths=("src",), daily=True)
    monday = fingerprint(cache, daily, today="2026-11-23")
    assert fingerprint(cache, daily, today="2026-11-23") == monday
    assert fingerprint(cache, daily, today="2026-11-24") != monday


def test_a_hit_restores_outputs_and_clears_strays(project: Path) -> None:
    cache = ResultCache(project, "svc")
    data = project / "reports" / ".coverage.tests-3.12.host.1"
    data.write_text("coverage data")
    outputs = Inputs(outputs=("reports/.coverage.{session}*",)).outputs_of("tests-3.12")
    assert outputs == ["reports/.coverage.tests-3.12*"]
    cache.store("tests-3.12", "fp1", "3 passed", outputs)
    assert cache.lookup("tests-3.12", "fp2") is None
    data.unlink()
    stray = project / "reports" / ".coverage.tests-3.12.host.2"
    stray.write_text("a later, failed run")
    record = cache.lookup("tests-3.12", "fp1")
    assert record is not None
    assert record.summary == "3 passed"
    assert data.read_text() == "coverage data"
    cache.clear_strays(record, outputs)
    assert not stray.exists()
    assert record.when().endswith(" UTC")


def test_a_hit_needs_its_outputs(project: Path) -> None:
    cache = ResultCache(project, "svc")
    junit = project / "reports" / "junit.xml"
    junit.write_text("<testsuite/>")
    cache.store("tests-3.12", "fp", "ok", ["reports/junit.xml"])
    junit.unlink()
    for copy in (cache.directory / "sessions" / "tests-3.12").rglob("junit.xml"):
        copy.unlink()
    assert cache.lookup("tests-3.12", "fp") is None


def test_forget_drops_the_record(project: Path) -> None:
    cache = ResultCache(project, "svc")
    cache.store("lint", "fp", "clean", [])
    assert cache.lookup("lint", "fp") is not None
    cache.forget("lint")
    assert cache.lookup("lint", "fp") is None
    (cache.directory / "sessions" / "lint.json").parent.mkdir(parents=True, exist_ok=True)
    (cache.directory / "sessions" / "lint.json").write_text("{not json")
    assert cache.lookup("lint", "fp") is None


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("yes", True), ("", False), ("0", False), ("false", False)]
)
def test_conveyor_force_runs_everything(value: str, expected: bool) -> None:
    assert forced({"CONVEYOR_FORCE": value}) is expected


def test_the_fingerprint_takes_the_variables_tools_read_and_ci() -> None:
    taken = {
        "PYTEST_ADDOPTS": "-k 'not slow'",
        "COVERAGE_CORE": "sysmon",
        "PYTHONPATH": "tasks",
        "UV_INDEX_URL": "https://pypi.example/simple",
        "CI": "true",
        "RUFF_OUTPUT_FORMAT": "json",
        "MYPYPATH": "stubs",
    }
    left_out = {
        "HOME": "/root",
        "PATH": "/usr/bin",
        "TERM": "xterm",
        "CONVEYOR_FORCE": "1",
        "UV_RUN_RECURSION_DEPTH": "1",
        "PYTEST_CURRENT_TEST": "tests/test_x.py::test_y (call)",
        "NOT_CI": "1",
    }
    assert environment_inputs({**taken, **left_out}) == taken


def test_conveyors_code_identity_follows_its_sources_not_their_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "conveyor"
    (package / "deploy" / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "deploy" / "compose.yaml.tmpl").write_text("services: {}\n")
    monkeypatch.setattr(conveyor, "__file__", str(package / "__init__.py"))
    first = _cache.conveyor_code()
    (package / "deploy" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\0")
    assert _cache.conveyor_code() == first
    (package / "deploy" / "compose.yaml.tmpl").write_text("services: {web: {}}\n")
    edited = _cache.conveyor_code()
    assert edited != first
    (package / "deploy" / "new.py").write_text("")
    assert _cache.conveyor_code() not in (first, edited)
