"""Session wiring: registration order, lock-exact installs, interpreters, pytest and coverage
helpers (real nox runs of every session: tests/integration/test_sessions_pipeline.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nox
import nox.registry
import pytest

from conveyor import sessions
from conveyor.config import load_project
from conveyor.errors import ConfigError, GateFailedError, ToolFailedError
from conveyor.reports.github import Annotation
from conveyor.sessions import _install, _pytest, _support, coverage, lint, typecheck
from conveyor.tools.uv import export_argv, locked_version, requirement_names

PYPROJECT = """\
[project]
name = "svc"
requires-python = ">=3.9"

[dependency-groups]
lint = ["ruff"]
test = ["pytest"]

[tool.conveyor]
python = ["3.11", "3.12"]
tools-python = "3.12"
"""


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    return tmp_path


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    fresh: dict[str, object] = {}
    monkeypatch.setattr(nox.registry, "_REGISTRY", fresh)
    return fresh


@pytest.fixture(autouse=True)
def _keep_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """register() puts interpreter links on PATH and sets nox options: undo both."""
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    for option in ("error_on_missing_interpreters", "reuse_venv"):
        monkeypatch.setattr(nox.options, option, getattr(nox.options, option))


def test_register_adds_every_session_in_pipeline_order(
    project_root: Path, registry: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    (project_root / "tests" / "integration").mkdir()
    sessions.register(project_root)
    assert nox.options.reuse_venv == "yes"
    assert list(registry)[: len(sessions.CORE_MODULES)] == [
        "lint",
        "types",
        "tests",
        "integration",
        "coverage",
        "security",
        "licenses",
    ]
    core = list(registry)[: len(sessions.CORE_MODULES)]
    funcs = {k: v for k, v in nox.registry.get().items() if k in core}
    assert funcs["tests"].python == ["3.11", "3.12"]
    assert funcs["lint"].python == "3.12"
    assert funcs["integration"].default is False
    assert all(f.venv_backend == "uv" and f.tags == ["pipeline"] for f in funcs.values())
    assert funcs["lint"].__doc__ == "ruff check + ruff format --check over the sources and tests."


def test_a_project_without_an_integration_suite_has_no_integration_session(
    project_root: Path, registry: dict[str, object]
) -> None:
    sessions.register(project_root)
    assert "integration" not in registry
    assert "tests" in registry


def test_register_stops_on_a_config_error_with_one_line(
    tmp_path: Path, registry: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.conveyor]\nsrcs = []\n")
    with pytest.raises(SystemExit) as caught:
        sessions.register(tmp_path)
    assert caught.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    path = tmp_path.resolve() / "pyproject.toml"
    assert first == f"{path}: [tool.conveyor] key 'srcs': unknown key"
    assert registry == {}


def test_sync_installs_exactly_the_locked_groups() -> None:
    root = Path("/p")
    assert _install.sync_argv(["test"], python="/v/bin/python", project_root=root) == [
        "uv",
        "sync",
        "--frozen",
        "--no-default-groups",
        "--project",
        "/p",
        "--group",
        "test",
        "--python",
        "/v/bin/python",
    ]
    only = _install.sync_argv(["bandit", "safety"], python="py", only=True, project_root=root)
    assert only[6:10] == ["--only-group", "bandit", "--only-group", "safety"]


def test_sync_state_follows_the_lock_pyproject_arguments_and_site_packages(
    project_root: Path,
) -> None:
    venv = project_root / ".nox" / "tests"
    site = venv / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    argv = _install.sync_argv(["test"], python="py", project_root=project_root)
    state = _install.sync_state(project_root, argv, venv)
    assert state
    assert _install.sync_state(project_root, argv, venv) == state
    other_groups = _install.sync_argv(["lint"], python="py", project_root=project_root)
    assert _install.sync_state(project_root, other_groups, venv) != state
    (site / "six.py").write_text("")  # something installed by hand
    os.utime(site, ns=(0, site.stat().st_mtime_ns + 1_000_000))
    touched = _install.sync_state(project_root, argv, venv)
    assert touched not in ("", state)
    (project_root / "uv.lock").write_text("version = 1\n# relocked\n")
    assert _install.sync_state(project_root, argv, venv) not in ("", touched)


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ("\n[tool.uv]\ncache-keys = [{ git = true }]\n", "uv cache keys"),
        ("", "no site-packages"),
        ("", "setup.py"),
    ],
)
def test_sync_state_is_unknown_when_uv_might_rebuild_or_nothing_can_be_watched(
    project_root: Path, extra: str, why: str
) -> None:
    (project_root / "pyproject.toml").write_text(PYPROJECT + extra)
    venv = project_root / ".nox" / "tests"
    if why != "no site-packages":
        (venv / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    if why == "setup.py":
        (project_root / "setup.py").write_text("")
    argv = _install.sync_argv(["test"], python="py", project_root=project_root)
    assert _install.sync_state(project_root, argv, venv) == ""


def test_sync_state_is_unknown_for_metadata_computed_at_build_time(project_root: Path) -> None:
    dynamic = PYPROJECT.replace('name = "svc"', 'name = "svc"\ndynamic = ["version"]')
    (project_root / "pyproject.toml").write_text(dynamic)
    venv = project_root / ".nox" / "tests"
    (venv / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    argv = _install.sync_argv(["test"], python="py", project_root=project_root)
    assert _install.sync_state(project_root, argv, venv) == ""


def test_a_missing_group_or_lock_is_named_with_the_fix(project_root: Path) -> None:
    project = load_project(project_root)
    assert _install.declared_groups(project_root) == {"lint", "test"}
    _install.require_groups(project, ["lint", "test"])
    with pytest.raises(ConfigError) as caught:
        _install.require_groups(project, ["lint", "licenses"])
    assert "[dependency-groups] has no 'licenses' group" in caught.value.message
    assert "uv add --group licenses" in caught.value.hint
    (project_root / "uv.lock").unlink()
    with pytest.raises(ConfigError, match=r"uv\.lock: not found"):
        _install.require_groups(project, ["lint"])


def test_missing_interpreters_are_an_error_and_named_with_the_fix(
    project_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(nox.options, "error_on_missing_interpreters", False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PATH", str(project_root / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "no-uv"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("conveyor.interpreters.SYSTEM_DIRS", ())
    found = _support.use_interpreters(load_project(project_root))
    assert found.missing == ("3.11", "3.12")
    assert nox.options.error_on_missing_interpreters is True  # locally too, not only in CI
    err = capsys.readouterr().err
    assert "Python 3.11, 3.12 not found" in err
    assert "`uv python install 3.11`" in err


def test_pytest_runs_unit_dirs_with_coverage_and_junit(project_root: Path) -> None:
    project = load_project(project_root)
    assert _pytest.suite_dirs(project, "unit") == ["tests/unit"]
    assert _pytest.suite_dirs(project, "integration") == []
    argv = _pytest.pytest_argv(project, ["tests/unit"], "tests-3.12", ["-k", "fast"])
    assert argv == [
        "pytest",
        "tests/unit",
        "--cov=src",
        "--cov-report=",
        "--cov-fail-under=0",
        f"--junitxml={project.reports / 'junit-tests-3.12.xml'}",
        "-k",
        "fast",
    ]
    assert _pytest.coverage_file(project, "tests-3.12") == project.reports / ".coverage.tests-3.12"


def test_coverage_helpers(project_root: Path) -> None:
    project = load_project(project_root)
    project.reports.mkdir()
    for name in (".coverage.tests-3.12.host.1", ".coverage.integration", "coverage.xml"):
        (project.reports / name).write_text("")
    assert [p.name for p in coverage.data_files(project)] == [
        ".coverage.integration",
        ".coverage.tests-3.12.host.1",
    ]
    report = project.reports / "coverage.json"
    report.write_text(json.dumps({"totals": {"percent_covered": 87.25}}))
    assert coverage.total_percent(report) == 87.25
    report.write_text("{}")
    with pytest.raises(ToolFailedError, match="coverage: cannot read"):
        coverage.total_percent(report)


@pytest.mark.parametrize(
    ("name", "session"),
    [
        (".coverage.tests-3.12.host.123.456", "tests-3.12"),
        (".coverage.tests-3.9", "tests-3.9"),
        (".coverage.integration.host.1.2", "integration"),
        (".coverage.integration", "integration"),
    ],
)
def test_coverage_data_names_its_producer(name: str, session: str) -> None:
    assert coverage.producer(Path(name)) == session


def test_coverage_combines_only_this_runs_data_when_tests_ran(project_root: Path) -> None:
    project = load_project(project_root)
    project.reports.mkdir()
    for name in (".coverage.tests-3.12.h.1", ".coverage.tests-3.11.h.2", ".coverage.integration"):
        (project.reports / name).write_text("")
    files, notes = coverage.select_data(project, {"tests-3.12", "lint"})
    assert [f.name for f in files] == [".coverage.tests-3.12.h.1"]
    assert notes == [
        "left out .coverage.integration: not from this run",
        "left out .coverage.tests-3.11.h.2: not from this run",
    ]
    alone, origins = coverage.select_data(project, set())
    assert len(alone) == 3
    assert all(note.startswith("using .coverage.") for note in origins)
    for stale in project.reports.glob(".coverage.*"):
        stale.unlink()
    with pytest.raises(GateFailedError, match="no data files"):
        coverage.select_data(project, set())


def test_the_threshold_is_the_one_set_for_the_data(project_root: Path) -> None:
    (project_root / "tests" / "integration").mkdir()
    with (project_root / "pyproject.toml").open("a") as handle:
        handle.write("coverage-fail-under = 90\ncoverage-fail-under-unit = 70\n")
    project = load_project(project_root)
    full = coverage.choose_threshold(project, {"tests-3.12", "integration"})
    assert (full.value, full.scope) == (90, "every suite")
    unit = coverage.choose_threshold(project, {"tests-3.12"})
    assert (unit.value, unit.scope) == (70, "unit suites only")
    (project_root / "tests" / "integration").rmdir()
    alone = coverage.choose_threshold(load_project(project_root), {"tests-3.12"})
    assert (alone.value, alone.scope) == (90, "every suite")


def test_locked_version_reads_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    assert locked_version(lock, "safety-db") is None
    lock.write_text(
        'version = 1\n[[package]]\nname = "safety-db"\nversion = "2021.7.17"\n'
        '[[package]]\nname = "safety"\nversion = "2.3.5"\n'
    )
    assert locked_version(lock, "Safety_DB") == "2021.7.17"
    assert locked_version(lock, "pip") is None
    lock.write_text("[[package\n")
    assert locked_version(lock, "safety") is None


def test_uv_export_argv_and_requirement_names() -> None:
    argv = export_argv(Path("/p"), Path("/p/req.txt"))
    assert argv[:6] == ["uv", "export", "--frozen", "--project", "/p", "--no-emit-project"]
    assert "--no-default-groups" not in argv
    runtime = export_argv(Path("/p"), Path("/p/req.txt"), groups=["docs"])
    assert runtime[-3:] == ["--no-default-groups", "--group", "docs"]
    text = (
        "annotated-types==0.7.0 ; python_full_version < '3.10'\n"
        "annotated-types==0.8.0 ; python_full_version >= '3.10'\n"
        "PyYAML==6.0.3  # via demo\n"
        "-e .\n"
        "\n"
        "Typing_Extensions==4.16.0\n"
        "not a requirement ===\n"
    )
    assert requirement_names(text) == ["annotated-types", "pyyaml", "typing-extensions"]


def test_session_modules_are_importable_and_register_callables() -> None:
    for name in (*sessions.CORE_MODULES, *sessions.SESSION_MODULES):
        module = __import__(f"conveyor.sessions.{name}", fromlist=["register"])
        assert callable(module.register)
    assert os.sep not in "".join(sessions.CORE_MODULES)


def test_pytest_failure_without_failing_tests_names_the_exit_code(project_root: Path) -> None:
    project = load_project(project_root)
    assert _pytest.junit_file(project, "integration") == project.reports / "junit-integration.xml"
    finding = _pytest.failed_run("tests-3.12", 5)
    assert finding.level == "error"
    assert finding.message == "pytest tests-3.12: exit code 5 (no tests collected); see the log"
    assert "exit code 9 (failed)" in _pytest.failed_run("integration", 9).message
    assert (
        _pytest.failed_run("integration", None).message == "pytest integration: failed; see the log"
    )


def test_mypy_argv_forces_one_parseable_line_per_error_and_the_summary() -> None:
    argv = typecheck.mypy_argv(["src", "tests"])
    assert argv[:2] == ["mypy", "--strict"]
    assert {"--no-pretty", "--no-color-output", "--error-summary"} <= set(argv)
    assert argv[-3:] == ["--", "src", "tests"]


def test_ruff_never_fixes_and_paths_follow_the_separator(tmp_path: Path) -> None:
    check = lint.ruff_check_argv(["src", "tests"], tmp_path / "ruff.json")
    assert check[:3] == ["ruff", "check", "--no-fix"]
    assert check[-3:] == ["--", "src", "tests"]
    assert lint.ruff_format_argv(["src"]) == ["ruff", "format", "--check", "--", "src"]


def test_findings_fail_the_gate_with_their_count() -> None:
    _support.fail_on_findings("mypy", [], ["src"], hint="fix")
    errors = [Annotation("error", "m", "src/a.py", 1), Annotation("error", "n", "src/b.py", 2)]
    with pytest.raises(GateFailedError) as failed:
        _support.fail_on_findings("mypy", errors, ["src", "tests"], hint="fix them")
    assert str(failed.value).startswith("mypy: 2 problem(s) in src, tests")
