"""Integration fixtures: a real Docker engine (installed and started when absent), a base image
built with Conveyor's own debootstrap code, and a way to run Conveyor's invoke tasks in a
temporary project."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Protocol

import pytest
from invoke.program import Program

from conveyor.tasks import namespace
from conveyor.tasks.build import create_base_image
from conveyor.tools.debootstrap import Debootstrap, RootfsRequest
from conveyor.tools.docker import Docker
from tests.conftest import unavailable
from tests.integration._demo import demo_images, repo_base_image

__all__ = ["demo_images", "repo_base_image"]  # the demo's session fixtures, for every module

TEST_BASE_IMAGE = "conveyor-test/base:bookworm"
TEST_BASE_PACKAGES = ("ca-certificates",)
DOCKERD_WAIT_SECONDS = 60


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    done = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=60)
    return done.returncode == 0


def _no_engine(reason: str) -> NoReturn:
    unavailable(f"Docker engine unavailable: {reason}")


def _install_docker() -> None:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        _no_engine("docker is not installed and cannot be installed here (need root + apt)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "docker.io", "debootstrap"], check=True, env=env
    )


def _start_dockerd(log: Path) -> None:
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        _no_engine("dockerd not found")
    with log.open("ab") as handle:
        # The daemon is meant to outlive the test session (like the lead's CI step).
        subprocess.Popen([str(dockerd)], stdout=handle, stderr=handle, start_new_session=True)
    deadline = time.monotonic() + DOCKERD_WAIT_SECONDS
    while time.monotonic() < deadline:
        if _engine_answers():
            return
        time.sleep(1)
    _no_engine(f"dockerd did not answer within {DOCKERD_WAIT_SECONDS}s (log: {log})")


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Docker:
    """A Docker whose daemon answers: installs docker.io and starts dockerd when needed."""
    if not _engine_answers():
        if shutil.which("docker") is None or shutil.which("dockerd") is None:
            _install_docker()
        if not _engine_answers():
            _start_dockerd(tmp_path_factory.mktemp("dockerd") / "dockerd.log")
    docker = Docker.discover()
    docker.engine_version()
    return docker


@pytest.fixture(scope="session")
def base_image(docker_engine: Docker) -> str:
    """The test base image, built by Conveyor's base-image code once, then reused by tag."""
    if not docker_engine.image_exists(TEST_BASE_IMAGE):
        if os.geteuid() != 0:
            _no_engine(f"{TEST_BASE_IMAGE} is absent and debootstrap needs root")
        request = RootfsRequest(suite="bookworm", packages=TEST_BASE_PACKAGES)
        create_base_image(docker_engine, Debootstrap.discover(), request, TEST_BASE_IMAGE)
    return TEST_BASE_IMAGE


@dataclass(frozen=True)
class TaskResult:
    """What one `inv ...` run left: exit code and captured output."""

    code: int
    out: str
    err: str


class RunTask(Protocol):
    def __call__(self, project: Path, *args: str) -> TaskResult: ...


@pytest.fixture
def run_task(capfd: pytest.CaptureFixture[str]) -> RunTask:
    """Run `inv <args>` on `project` in-process through invoke's Program (real subprocesses)."""

    def run(project: Path, *args: str) -> TaskResult:
        capfd.readouterr()
        ns = namespace()
        ns.configure({"conveyor": {"root": str(project)}})
        code = 0
        try:
            Program(namespace=ns, name="inv", binary="inv").run(["inv", *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capfd.readouterr()
        return TaskResult(code, captured.out, captured.err)

    return run


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with a fixed identity; return stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


def write_project(root: Path, conveyor_toml: str = "", *, version: str = "1.2.3") -> Path:
    """A minimal consuming project: pyproject.toml with [project] and the given tables."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "{version}"\nrequires-python = ">=3.9"\n\n'
        + conveyor_toml,
        encoding="utf-8",
    )
    (root / "tasks.py").write_text(
        "from conveyor.tasks import namespace\n\nns = namespace()\n", encoding="utf-8"
    )
    return root


HARDENED_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS builder
WORKDIR /src
RUN echo 'print("hello")' > app.txt

FROM ${BASE_IMAGE}
ARG GREETING=none
LABEL demo.greeting=${GREETING}
RUN groupadd --system --gid 10001 app \\
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=builder /src/app.txt /app/app.txt
USER app
HEALTHCHECK --interval=30s --timeout=3s CMD ["test", "-f", "/app/app.txt"]
CMD ["cat", "/app/app.txt"]
"""

ROOT_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
HEALTHCHECK CMD ["true"]
CMD ["cat", "/etc/hostname"]
"""


@pytest.fixture
def git_project(tmp_path: Path) -> Path:
    """An empty git repository with one commit, for scans and builds."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# demo\n", encoding="utf-8")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "initial")
    return root
