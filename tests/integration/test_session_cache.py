"""The session result cache on real nox runs: what an unchanged tree skips, what each kind of
change re-runs, and that a failure is never remembered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration._projects import RUNNING, library, lock

SESSIONS = ("lint", f"tests-{RUNNING}", "licenses")


def write_project(root: Path) -> Path:
    library(
        root,
        package="calc",
        module='"""Arithmetic."""\n\n\ndef add(a: int, b: int) -> int:\n    """Sum."""\n'
        "    return a + b\n",
        test="from calc import add\n\n\ndef test_add() -> None:\n    assert add(1, 2) == 3\n",
        requires_python=f">={RUNNING}",
        groups={
            "lint": ["ruff>=0.8"],
            "test": ["pytest>=8.3", "pytest-cov>=5"],
            "licenses": ["pip-licenses>=5"],
        },
        conveyor={"src": ["src"], "python": [RUNNING], "tools-python": RUNNING},
    )
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# calc\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    lock(root, "-P", "ruff==0.14.0")
    return root


def nox(root: Path, *args: str, force: bool = False, env: dict[str, str] | None = None) -> str:
    """Run nox on the project; the combined output (the exit code is asserted by callers)."""
    ignored = ("VIRTUAL_ENV", "CONVEYOR_FORCE", "PYTEST_ADDOPTS")
    env = {**{k: v for k, v in os.environ.items() if k not in ignored}, **(env or {})}
    if force:
        env["CONVEYOR_FORCE"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-s", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def unchanged(output: str) -> set[str]:
    """The sessions a run skipped as unchanged."""
    names = set()
    session = ""
    for line in output.splitlines():
        if line.startswith("nox > Running session "):
            session = line.rsplit(" ", 1)[-1]
        elif line.startswith("nox > unchanged since "):
            names.add(session)
    return names


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "calc")


def test_an_unchanged_tree_is_skipped_with_the_cached_summary(project: Path) -> None:
    first = nox(project, *SESSIONS)
    assert first.startswith("exit 0"), first
    assert unchanged(first) == set()
    second = nox(project, *SESSIONS)
    assert second.startswith("exit 0"), second
    assert unchanged(second) == set(SESSIONS)
    assert "unchanged since " in second
    assert "pytest: 1 passed" in second
    assert "licenses: " in second
    forced = nox(project, *SESSIONS, force=True)
    assert forced.startswith("exit 0"), forced
    assert unchanged(forced) == set()


def test_each_kind_of_change_re_runs_exactly_what_reads_it(project: Path) -> None:
    assert nox(project, *SESSIONS).startswith("exit 0")
    module = project / "src" / "calc" / "__init__.py"
    module.write_text(module.read_text() + "\n\nZERO = 0\n")
    source = nox(project, *SESSIONS)
    assert source.startswith("exit 0"), source
    assert unchanged(source) == {"licenses"}
    (project / "docs" / "index.md").write_text("# calc, documented\n")
    docs = nox(project, *SESSIONS)
    assert unchanged(docs) == {"lint", "licenses"}  # tests read the whole tree
    lock(project, "-P", "ruff==0.15.0")
    locked = nox(project, *SESSIONS)
    assert locked.startswith("exit 0"), locked
    assert unchanged(locked) == {f"tests-{RUNNING}", "licenses"}


def test_a_failure_is_never_cached_and_never_turns_green(project: Path) -> None:
    assert nox(project, *SESSIONS).startswith("exit 0")
    test = project / "tests" / "unit" / "test_calc.py"
    passing = test.read_text()
    test.write_text(passing.replace("== 3", "== 4"))
    for _ in range(2):
        failed = nox(project, f"tests-{RUNNING}")
        assert failed.startswith("exit 1"), failed
        assert unchanged(failed) == set()
        assert "1 failed" in failed
    test.write_text(passing)
    again = nox(project, f"tests-{RUNNING}")
    assert again.startswith("exit 0"), again
    assert unchanged(again) == set()  # its record was dropped by the failure: it ran
    assert (project / "reports" / f"junit-tests-{RUNNING}.xml").is_file()


def test_a_green_run_under_pytest_addopts_is_no_green_without_them(project: Path) -> None:
    session = f"tests-{RUNNING}"
    test = project / "tests" / "unit" / "test_calc.py"
    test.write_text(
        test.read_text() + "\n\ndef test_broken() -> None:\n    assert add(1, 1) == 3\n"
    )
    deselected = nox(
        project, session, env={"PYTEST_ADDOPTS": "--deselect=tests/unit/test_calc.py::test_broken"}
    )
    assert deselected.startswith("exit 0"), deselected
    assert "1 deselected" in deselected
    plain = nox(project, session)
    assert plain.startswith("exit 1"), plain  # ran again, and the broken test failed
    assert unchanged(plain) == set()
    assert "1 failed" in plain


def test_install_only_installs_even_when_the_result_is_cached(project: Path) -> None:
    session = f"tests-{RUNNING}"
    assert nox(project, session).startswith("exit 0")
    shutil.rmtree(project / ".nox")
    prepared = nox(project, session, "--install-only")
    assert prepared.startswith("exit 0"), prepared
    assert unchanged(prepared) == set()
    assert "uv sync --frozen" in prepared
    assert (project / ".nox" / session.replace(".", "-") / "bin" / "pytest").is_file()
    again = nox(project, session)
    assert again.startswith("exit 0"), again
    assert unchanged(again) == {session}  # the install changed no result: the record stayed


def test_a_hit_puts_back_the_outputs_later_sessions_read(project: Path) -> None:
    assert nox(project, f"tests-{RUNNING}").startswith("exit 0")
    junit = project / "reports" / f"junit-tests-{RUNNING}.xml"
    data = sorted((project / "reports").glob(f".coverage.tests-{RUNNING}*"))
    assert data
    expected = {path: path.read_bytes() for path in [junit, *data]}
    for path in expected:
        path.unlink()
    hit = nox(project, f"tests-{RUNNING}", "coverage")
    assert hit.startswith("exit 0"), hit
    assert f"tests-{RUNNING}" in unchanged(hit)
    assert {path: path.read_bytes() for path in expected} == expected
    assert f"coverage 100.0% from tests-{RUNNING} (no threshold set)" in hit


def test_a_venv_is_synced_again_only_when_it_or_what_it_was_synced_from_changed(
    project: Path,
) -> None:
    synced = "uv sync --frozen"
    skipped = "uv sync not needed"
    first = nox(project, f"tests-{RUNNING}", force=True)
    assert first.startswith("exit 0"), first
    assert synced in first
    again = nox(project, f"tests-{RUNNING}", force=True)
    assert again.startswith("exit 0"), again
    assert skipped in again
    assert synced not in again
    venv = project / ".nox" / f"tests-{RUNNING.replace('.', '-')}"
    subprocess.run(
        ["uv", "pip", "uninstall", "--python", str(venv / "bin" / "python"), "pytest-cov"],
        check=True,
        capture_output=True,
    )
    repaired = nox(project, f"tests-{RUNNING}", force=True)
    assert repaired.startswith("exit 0"), repaired  # pytest --cov needs pytest-cov back
    assert synced in repaired
    lock(project, "-P", "ruff==0.15.0")
    relocked = nox(project, f"tests-{RUNNING}", force=True)
    assert relocked.startswith("exit 0"), relocked
    assert synced in relocked
