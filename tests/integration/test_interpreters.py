"""Interpreters nox cannot see are found by Conveyor; a missing one fails the run, with the fix.

Real interpreters (this machine's 3.9-3.13) are linked into a pyenv-style versions directory
that is not on PATH; nox runs with a PATH holding only uv and the running Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor import interpreters
from conveyor.config import load_project
from tests.conftest import REPO_ROOT, require_tool, unavailable
from tests.integration._projects import RUNNING, library, lock


def write_project(root: Path, pythons: list[str]) -> Path:
    """A library supporting `pythons`, with one unit test and a lock for all of them."""
    library(
        root,
        package="lib",
        module="def one() -> int:\n    return 1\n",
        test="import sys\n\nfrom lib import one\n\n\ndef test_one() -> None:\n"
        "    print(sys.version)\n    assert one() == 1\n",
        requires_python=">=3.9",
        groups={"test": ["pytest>=8.3,<9", "pytest-cov>=5,<7"]},
        conveyor={"python": pythons, "tools-python": RUNNING},
    )
    lock(root)
    return root


def isolated_env(root: Path, pyenv_root: Path) -> dict[str, str]:
    """PATH holds only uv and the running Python; pyenv's versions are not on it."""
    bin_dir = root / "path-bin"
    bin_dir.mkdir()
    (bin_dir / f"python{RUNNING}").symlink_to(Path(sys.executable).resolve())
    (bin_dir / "uv").symlink_to(Path(require_tool("uv")).resolve())
    (bin_dir / "git").symlink_to(Path(require_tool("git")).resolve())
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CI", "UV")}
    env.update(
        PATH=str(bin_dir),
        PYENV_ROOT=str(pyenv_root),
        PYENV_VERSION="",
        XDG_CACHE_HOME=str(root / "cache"),
        UV_PYTHON_INSTALL_DIR=str(root / "no-uv-pythons"),
        UV_PYTHON_DOWNLOADS="never",
        UV_CACHE_DIR=os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
    )
    return env


def run_nox(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def pyenv_style(target: Path, found: interpreters.Discovery) -> Path:
    """`<target>/versions/X.Y.Z/bin/pythonX.Y` links to this machine's real interpreters."""
    for interpreter in found.found:
        bin_dir = target / "versions" / interpreter.full_version / "bin"
        bin_dir.mkdir(parents=True)
        real = Path(os.path.realpath(interpreter.path))
        (bin_dir / f"python{interpreter.version}").symlink_to(real)
    return target


def test_interpreters_only_in_a_pyenv_versions_directory_run_every_tests_session(
    tmp_path: Path,
) -> None:
    # The versions this repository's sessions run on (the fresh-machine contract: 3.9-3.13);
    # 3.14/3.15 are known too, but a machine of this kind does not have them.
    versions = load_project(REPO_ROOT).pythons
    machine = interpreters.discover(versions)
    if machine.missing:
        unavailable(f"this machine lacks Python {', '.join(machine.missing)}")
    root = write_project(tmp_path / "lib", versions)
    env = isolated_env(root, pyenv_style(tmp_path / "pyenv", machine))
    done = run_nox(root, env, "-s", "tests")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    where = next(line for line in output.splitlines() if line.startswith("conveyor: Python "))
    for interpreter in machine.found:
        if interpreter.version == RUNNING:
            assert f"{sys.version.split()[0]} (PATH, " in where
        else:
            assert f"{interpreter.full_version} (pyenv, {tmp_path}/pyenv/versions/" in where
        assert f"Session tests-{interpreter.version} was successful" in output
    assert "skipped" not in output


def test_a_missing_interpreter_fails_the_run_with_the_fix_unless_skipping_is_asked(
    tmp_path: Path,
) -> None:
    root = write_project(tmp_path / "lib", [RUNNING, "3.14"])
    env = isolated_env(root, tmp_path / "empty-pyenv")
    done = run_nox(root, env, "-s", "tests")
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    first = next(line for line in output.splitlines() if "not found" in line)
    assert first.startswith("conveyor: Python 3.14 not found (looked on PATH, ")
    assert "`uv python install 3.14`" in first
    assert "Session tests-3.14 failed" in output
    assert f"Session tests-{RUNNING} was successful" in output
    asked = run_nox(root, env, "-s", "tests", "--no-error-on-missing-interpreters")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert "tests-3.14: skipped" in asked.stdout + asked.stderr


@pytest.mark.parametrize("version", ["3.14"])
def test_the_install_hint_names_a_command_this_machine_has(version: str) -> None:
    hint = interpreters.install_hint(version)
    assert f"uv python install {version}" in hint
