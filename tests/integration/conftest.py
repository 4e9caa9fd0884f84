"""Integration fixtures: a real Docker engine with Compose and debootstrap (installed and
started when absent, see _machine), a base image built with Conveyor's own debootstrap code,
and a way to run Conveyor's invoke tasks in a temporary project."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from invoke.program import Program

from conveyor.tasks import namespace
from conveyor.tools.compose import COMPOSE_VARIABLE
from conveyor.tools.debootstrap import RootfsRequest
from conveyor.tools.docker import Docker
from tests.integration import _machine as machine
from tests.integration._demo import demo_images, repo_base_image

__all__ = ["demo_images", "repo_base_image"]  # the demo's session fixtures, for every module

TEST_BASE_IMAGE = "conveyor-test/base:bookworm"
TEST_BASE_PACKAGES = ("ca-certificates",)


@pytest.fixture(scope="session")
def docker_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Docker:
    """A Docker engine with Compose and debootstrap, installed and started when absent."""
    with machine.reporting(request.config) as say:
        return machine.provision_engine(tmp_path_factory.mktemp("dockerd"), say)


@pytest.fixture(scope="session", autouse=True)
def compose_v1_by_default() -> Iterator[None]:
    """Every Compose the suite starts is Debian's v1 unless a test picks v2 (`compose`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(COMPOSE_VARIABLE, str(machine.COMPOSE_V1))
        yield


@pytest.fixture(scope="module", params=["v1", "v2"])
def compose(request: pytest.FixtureRequest, docker_engine: Docker) -> Iterator[str]:
    """Run the module's tests once with Compose v1 and once with v2 (their outputs differ)."""
    binary = str(machine.COMPOSE_V1) if request.param == "v1" else machine.compose_v2()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(COMPOSE_VARIABLE, binary)
        yield request.param


@pytest.fixture(scope="session")
def base_image(request: pytest.FixtureRequest, docker_engine: Docker) -> str:
    """The test base image, built by Conveyor's base-image code once, then reused by tag."""
    rootfs = RootfsRequest(suite="bookworm", packages=TEST_BASE_PACKAGES)
    with machine.reporting(request.config) as say:
        return machine.ensure_image(docker_engine, TEST_BASE_IMAGE, rootfs, say)


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
