"""`conveyor init` on an application repository (no package, no pyproject.toml), then `inv build`
and `uv run inv` with what init wrote."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require_tool
from tests.integration._consumers import init, lock, run, snapshot
from tests.integration.conftest import RunTask, git

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "apps" / "requirements-app"


def adopt(tmp_path: Path) -> Path:
    """A committed copy of the fixture under a unique name (its image and project name)."""
    root = tmp_path / f"reqapp-{uuid.uuid4().hex[:8]}"
    shutil.copytree(FIXTURE, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "the application as it was")
    return root


@pytest.mark.docker
def test_init_adopts_an_application_then_inv_build_succeeds(
    base_image: str, tmp_path: Path, run_task: RunTask
) -> None:
    root = adopt(tmp_path)
    dockerfile = (root / "Dockerfile").read_text()
    assert init(root) == 0
    assert (root / "Dockerfile").read_text() == dockerfile  # the project's own, untouched
    assert not (root / "docker" / "Dockerfile").exists()
    ignored = (root / ".dockerignore").read_text().splitlines()
    assert "requirements.txt" not in ignored
    assert ".nox" in ignored
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["tool"]["conveyor"]["src"] == ["app"]
    assert data["tool"]["conveyor"]["deploy"]["compose-files"] == ["docker-compose.yml"]
    assert {"include-group": "scanners"} in data["dependency-groups"]["dev"]
    before = snapshot(root)
    assert init(root) == 0
    assert snapshot(root) == before, "a second init changed files"
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "conveyor init")
    sha = git(root, "rev-parse", "--short=12", "HEAD")
    image = f"{root.name}-web:{sha}"
    try:
        result = run_task(root, "build", "--build-arg", f"BASE_IMAGE={base_image}")
        assert result.code == 0, result.out + result.err
        copied = subprocess.run(
            ["docker", "run", "--rm", image, "cat", "/code/requirements.txt"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert copied.stdout == (FIXTURE / "requirements.txt").read_text()
        assert git(root, "status", "--porcelain") == ""  # init ignores what the build writes
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)


def test_uv_run_reaches_inv_and_the_scanners_right_after_init(tmp_path: Path) -> None:
    require_tool("uv")
    root = adopt(tmp_path)
    assert init(root) == 0
    lock(root)
    tasks = run(root, "uv", "run", "--frozen", "inv", "--list")
    assert tasks.returncode == 0, tasks.stdout + tasks.stderr
    assert "build" in tasks.stdout
    assert "scan" in tasks.stdout
    for tool in ("trivy", "gitleaks"):
        found = run(root, "uv", "run", "--frozen", tool, "--version")
        assert found.returncode == 0, found.stdout + found.stderr
