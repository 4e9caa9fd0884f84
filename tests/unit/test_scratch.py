"""Scratch space: private, git-ignored, removed after the run; no path leaves it."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from conveyor.deploy.scratch import Scratch, safe_relative
from conveyor.errors import ConfigError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_and_removed_after_the_run(tmp_path: Path) -> None:
    root = tmp_path / ".conveyor"
    state = root / "deploy" / "staging" / "demo"
    with Scratch(root, state) as scratch:
        written = scratch.write("release-3/docker/compose.yaml", "services: {}\n")
        assert written.read_text() == "services: {}\n"
        assert mode(written) == 0o600
        assert scratch.path is not None
        assert mode(scratch.path) == 0o700
        assert mode(written.parent) == 0o700
        run = scratch.path
    assert not run.exists()
    assert (root / ".gitignore").read_text().splitlines()[-1] == "*"
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        scratch.write("x", "y")


def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path: Path) -> None:
    root = tmp_path / ".conveyor"
    state = root / "deploy" / "x"
    old = state / "run-killed"
    old.mkdir(parents=True)
    (old / "compose.yaml").write_text("x")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (day_ago, day_ago))
    recent = state / "run-recent"  # maybe another deploy's, still running
    recent.mkdir()
    with Scratch(root, state):
        assert not old.exists()
        assert recent.exists()


@pytest.mark.parametrize("path", ["/etc/passwd", "../../x.yaml", "a/../../b", ""])
def test_recorded_paths_cannot_leave_the_scratch_directory(path: str) -> None:
    with pytest.raises(ConfigError, match="leaves the project"):
        safe_relative(path)
    assert str(safe_relative("docker/compose.yaml")) == "docker/compose.yaml"
