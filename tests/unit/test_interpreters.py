"""Interpreter discovery: where candidates are looked for, which one wins, what is exposed.

Candidates here are tiny scripts that print a version (the probe's parsing); real
interpreters in a pyenv-style directory are found in tests/integration/test_interpreters.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conveyor import interpreters


def fake_python(bin_dir: Path, version: str, reported: str | None = None, code: int = 0) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"python{version}"
    path.write_text(f"#!/bin/sh\necho {reported or version + '.4'}\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(interpreters, "SYSTEM_DIRS", ())
    monkeypatch.chdir(tmp_path)
    return {
        "PATH": str(tmp_path / "path-bin"),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uv-pythons"),
        "ASDF_DATA_DIR": str(tmp_path / "asdf"),
    }


def discover(env: dict[str, str], tmp_path: Path, *versions: str) -> interpreters.Discovery:
    return interpreters.discover(list(versions), env, cache_file=tmp_path / "probe.json")


def test_inactive_pyenv_versions_are_found_newest_patch_first(
    env: dict[str, str], tmp_path: Path
) -> None:
    for patch in ("3.9.2", "3.9.18", "3.9.7"):
        fake_python(tmp_path / "pyenv" / "versions" / patch / "bin", "3.9", patch)
    (tmp_path / "pyenv" / "versions" / "3.9-dev").mkdir()
    found = discover(env, tmp_path, "3.9")
    assert found.missing == ()
    (only,) = found.found
    assert (only.full_version, only.source) == ("3.9.18", "pyenv")
    assert only.path == str(tmp_path / "pyenv" / "versions" / "3.9.18" / "bin" / "python3.9")


def test_path_wins_over_pyenv_and_uv_and_a_broken_candidate_is_passed_over(
    env: dict[str, str], tmp_path: Path
) -> None:
    fake_python(tmp_path / "path-bin", "3.12", "3.12.9", code=1)  # does not run: next one
    fake_python(tmp_path / "uv-pythons" / "cpython-3.12.4-linux-x86_64-gnu" / "bin", "3.12")
    fake_python(tmp_path / "pyenv" / "versions" / "3.12.1" / "bin", "3.12", "3.12.1")
    fake_python(tmp_path / "path-bin", "3.11", "3.11.2")
    fake_python(tmp_path / "asdf" / "installs" / "python" / "3.10.3" / "bin", "3.10", "3.10.3")
    found = discover(env, tmp_path, "3.11", "3.12", "3.10", "3.13")
    sources = {i.version: (i.full_version, i.source) for i in found.found}
    assert sources == {
        "3.11": ("3.11.2", "PATH"),
        "3.12": ("3.12.1", "pyenv"),
        "3.10": ("3.10.3", "asdf"),
    }
    assert found.missing == ("3.13",)


def test_a_candidate_reporting_another_version_is_not_taken(
    env: dict[str, str], tmp_path: Path
) -> None:
    fake_python(tmp_path / "path-bin", "3.12", "3.11.9")
    assert discover(env, tmp_path, "3.12").missing == ("3.12",)


def test_uv_managed_pythons_are_found(env: dict[str, str], tmp_path: Path) -> None:
    fake_python(tmp_path / "uv-pythons" / "cpython-3.13.1-linux-x86_64-gnu" / "bin", "3.13")
    (found,) = discover(env, tmp_path, "3.13").found
    assert found.source == "uv"


def test_pyenv_shims_stand_for_the_active_versions(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shims = tmp_path / "pyenv" / "shims"
    fake_python(shims, "3.11", "9.9.9")  # a shim that would answer for whatever is active
    fake_python(tmp_path / "pyenv" / "versions" / "3.11.7" / "bin", "3.11", "3.11.7")
    fake_python(tmp_path / "pyenv" / "versions" / "3.11.2" / "bin", "3.11", "3.11.2")
    env["PATH"] = str(shims)
    (tmp_path / "pyenv" / "version").write_text("3.11.2\n")
    (found,) = discover(env, tmp_path, "3.11").found
    assert (found.full_version, found.source) == ("3.11.2", "pyenv, active")
    (tmp_path / ".python-version").write_text("3.12\n3.11.7  # local\n")
    assert interpreters.pyenv_active(env, tmp_path) == ["3.12", "3.11.7"]
    env["PYENV_VERSION"] = "system:3.11.2"
    assert interpreters.pyenv_active(env, tmp_path) == ["3.11.2"]


def test_virtualenvs_on_path_are_not_installations(env: dict[str, str], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    fake_python(venv / "bin", "3.12")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    env["PATH"] = str(venv / "bin")
    assert discover(env, tmp_path, "3.12").missing == ("3.12",)


def test_probe_answers_are_remembered_per_file_identity(tmp_path: Path) -> None:
    python = fake_python(tmp_path / "bin", "3.12", "3.12.3")
    cache = interpreters.ProbeCache(tmp_path / "probe.json")
    assert interpreters.probe(str(python), cache) == "3.12.3"
    cache.save()
    python.write_text("#!/bin/sh\nexit 1\n")  # another size: a changed binary is probed again
    again = interpreters.ProbeCache(tmp_path / "probe.json")
    assert interpreters.probe(str(python), again) is None
    assert interpreters.probe(str(tmp_path / "absent"), again) is None


def test_expose_links_the_chosen_interpreters_and_uv_first_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    python = fake_python(tmp_path / "pyenv" / "3.9.18" / "bin", "3.9", "3.9.18")
    uv = tmp_path / "tools" / "uv"
    uv.parent.mkdir()
    uv.write_text("#!/bin/sh\n")
    environ = {"PATH": "/usr/bin", "UV": str(uv)}
    chosen = interpreters.Interpreter("3.9", str(python), "3.9.18", "pyenv")
    directory = interpreters.expose([chosen], environ)
    assert directory is not None
    assert environ["PATH"].split(os.pathsep) == [str(directory), "/usr/bin"]
    assert os.readlink(directory / "python3.9") == str(python)
    assert os.readlink(directory / "uv") == str(uv)
    assert interpreters.expose([chosen], environ) == directory  # idempotent
    assert environ["PATH"].count(str(directory)) == 1
    assert interpreters.expose([], {"PATH": "/usr/bin"}) is None


def test_the_missing_message_names_where_it_looked_and_the_fix(tmp_path: Path) -> None:
    pyenv = tmp_path / "pyenv"
    (pyenv / "bin").mkdir(parents=True)
    (pyenv / "bin" / "pyenv").write_text("")
    env = {"PYENV_ROOT": str(pyenv), "XDG_DATA_HOME": str(tmp_path / "data")}
    message = interpreters.missing_message(["3.14"], env)
    assert message.startswith("conveyor: Python 3.14 not found (looked on PATH, ")
    assert f"{pyenv}/versions" in message
    assert "`uv python install 3.14` or `pyenv install 3.14`" in message
    no_pyenv = {"PYENV_ROOT": str(tmp_path / "none"), "HOME": str(tmp_path)}
    assert interpreters.install_hint("3.14", {"PATH": ""}).startswith("`uv python install")
    assert "pyenv install" in interpreters.install_hint("3.14", no_pyenv)  # PYENV_ROOT is set


def test_describe_shortens_the_home_directory() -> None:
    found = interpreters.Interpreter("3.9", "/home/me/.pyenv/versions/3.9.1/bin/python3.9",
                                     "3.9.1", "pyenv")  # fmt: skip
    assert found.describe("/home/me") == "3.9.1 (pyenv, ~/.pyenv/versions/3.9.1/bin/python3.9)"
