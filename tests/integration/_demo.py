"""The demo service as a throwaway deploy target: images, a project directory, probes.

Each target gets its own compose project name and a free port. A blue-green target uses the
repository's own compose files and proxy (docker/); an in-place one the demo as it was
before the proxy (tests/fixtures/services/demo-in-place: the app publishes its port). Both
take short healthcheck intervals from their env file.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from invoke.config import Config
from invoke.context import Context

from conveyor.config import load_project
from conveyor.tasks.build import ca_directory
from conveyor.tools.compose import Compose, ComposeTarget
from conveyor.tools.debootstrap import RootfsRequest
from conveyor.tools.docker import Docker
from tests.conftest import REPO_ROOT
from tests.integration import _machine as machine

BASE_IMAGE = "conveyor/base:bookworm"
DEMO_REPOSITORY = "conveyor-demo-it"
PROXY_REPOSITORY = "conveyor-demo-proxy-it"
GOOD, GOOD2, BAD, CRASH, NO_USER = "good", "good2", "bad", "crash", "no-user"
TAGS = (GOOD, GOOD2, BAD, CRASH, NO_USER)
COMPOSE_FILES = ("compose.yaml", "compose.staging.yaml", "compose.production.yaml")
IN_PLACE_COMPOSE = REPO_ROOT / "tests" / "fixtures" / "services" / "demo-in-place" / "compose.yaml"
HEALTH_TIMEOUT = 30


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def build_demo_images() -> None:
    """The demo image (twice, as two releases) and two broken variants built FROM it."""
    for tag in (GOOD, GOOD2):
        subprocess.run(
            [
                "docker", "build", "-q", "-f", "docker/Dockerfile",
                "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "--build-arg", f"APP_RELEASE={tag}",
                "-t", f"{DEMO_REPOSITORY}:{tag}", ".",
            ],
            cwd=REPO_ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
    # Each variant says who it is on `/`, so a request it answers is counted as its own.
    variants = {
        BAD: "ENV APP_FORCE_UNHEALTHY=1",
        CRASH: 'CMD ["sh", "-c", "echo boot failed: no config >&2; exit 3"]',
        NO_USER: "USER nosuchuser",
    }
    for tag, line in variants.items():
        subprocess.run(
            ["docker", "build", "-q", "-t", f"{DEMO_REPOSITORY}:{tag}", "-"],
            input=f"FROM {DEMO_REPOSITORY}:{GOOD}\nENV APP_RELEASE={tag}\n{line}\n",
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    # One proxy image under every tag, as `inv build` tags all images alike: a deploy of
    # any tag finds the same proxy content and leaves the running proxy alone.
    subprocess.run(
        ["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
         *(a for tag in TAGS for a in ("-t", f"{PROXY_REPOSITORY}:{tag}")), "docker/proxy"],
        cwd=REPO_ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DemoTarget:
    """A project directory whose `staging` environment deploys the demo on its own port."""

    root: Path
    project: str
    port: int
    strategy: str = "in-place"

    @property
    def env_file(self) -> Path:
        return self.root / "test.env"

    def write_env(self, **overrides: str) -> None:
        values = {
            "APP_IMAGE": DEMO_REPOSITORY,
            "PROXY_IMAGE": PROXY_REPOSITORY,
            "APP_TAG": GOOD,
            "APP_BIND": "127.0.0.1",
            "APP_PORT": str(self.port),
            "HEALTH_INTERVAL": "1s",
            "APP_START_PERIOD": "2s",
            "BASE_IMAGE": BASE_IMAGE,
            **overrides,
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def context(self) -> Context:
        return Context(Config(overrides={"conveyor": {"root": str(self.root)}}))

    def get(self, path: str = "/") -> tuple[int, dict[str, str]]:
        """GET on the published port: status and JSON body (0 when nothing answers)."""
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=3) as reply:
                return int(reply.status), json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {}
        except OSError:
            return 0, {}

    def serving_release(self) -> str:
        status, body = self.get("/")
        return body.get("release", "") if status == 200 else f"(status {status})"

    def containers(self) -> dict[str, str]:
        """Service -> container ID of the project's containers."""
        ids = docker(
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
        ).stdout.split()
        if not ids:
            return {}
        # One may vanish between `ps` and `inspect` (recreated): inspect lists the others.
        data = json.loads(docker("inspect", *ids, check=False).stdout or "[]")
        return {d["Config"]["Labels"]["com.docker.compose.service"]: d["Id"] for d in data}

    def invoke(
        self, *args: str, env: dict[str, str] | None = None, new_session: bool = False
    ) -> subprocess.Popen[str]:
        """`inv <args>` in a child process (for signals and concurrent deploys)."""
        return subprocess.Popen(
            [sys.executable, "-m", "invoke", *args],
            cwd=self.root,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=new_session,
        )

    def down(self) -> None:
        files = tuple(self.root / name for name in COMPOSE_FILES[:2])
        target = ComposeTarget(files=files, project=self.project, env_file=self.env_file)
        Compose(target).down(volumes=True)
        for cid in self.containers().values():
            docker("rm", "-f", cid, check=False)
        docker("rm", "-f", f"conveyor-lock-{self.project}", check=False)
        ledger = docker(
            "volume", "ls", "-q", "--filter", f"label=io.conveyor.ledger={self.project}"
        ).stdout.split()
        if ledger:
            docker("volume", "rm", *ledger)

    def lock_holder(self) -> dict[str, str]:
        """The labels of the project's deploy lock container ({} when unlocked)."""
        found = docker(
            "container", "inspect", "-f", "{{json .Config.Labels}}",
            f"conveyor-lock-{self.project}", check=False,
        )  # fmt: skip
        return dict(json.loads(found.stdout)) if found.returncode == 0 else {}


BLUE_GREEN = """strategy = "blue-green"

[tool.conveyor.deploy.blue-green]
drain = {drain:g}
services = {{ app = {{ port = 8000 }} }}
"""


def make_target(
    base: Path,
    *,
    smoke: Sequence[str] = ("/health",),
    strategy: str = "in-place",
    drain: float = 5,
) -> DemoTarget:
    """A fresh project directory (pyproject.toml, compose files, env file, tasks.py)."""
    base.mkdir(parents=True, exist_ok=True)
    project = f"cvit-{uuid.uuid4().hex[:8]}"
    target = DemoTarget(root=base, project=project, port=free_port(), strategy=strategy)
    for name in (*COMPOSE_FILES, "app.env.example"):
        shutil.copy(REPO_ROOT / "docker" / name, base / name)
    if strategy == "blue-green":
        shutil.copytree(REPO_ROOT / "docker" / "proxy", base / "proxy")
    else:
        shutil.copy(IN_PLACE_COMPOSE, base / "compose.yaml")
    target.write_env()
    smoke_tests = ", ".join(f'{{ path = "{p}", status = 200, timeout = 3 }}' for p in smoke)
    chosen = BLUE_GREEN.format(drain=drain) if strategy == "blue-green" else ""
    (base / "pyproject.toml").write_text(
        f"""[project]
name = "demo-it"
version = "0"

[tool.conveyor.deploy]
compose-files = ["compose.yaml"]
health-timeout = {HEALTH_TIMEOUT}
log-lines = 20
smoke = [{smoke_tests}]
{chosen}
[tool.conveyor.deploy.environments.staging]
compose-files = ["compose.staging.yaml"]
env-file = "test.env"
project = "{project}"
port = {target.port}

[tool.conveyor.deploy.environments.production]
compose-files = ["compose.production.yaml"]
env-file = "test.env"
project = "{project}-prod"
port = {target.port}
""",
        encoding="utf-8",
    )
    (base / "tasks.py").write_text("from conveyor.tasks import namespace\n\nns = namespace()\n")
    return target


def wait_for(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.2)
    return False


def repo_rootfs() -> RootfsRequest:
    """The repository's base image as its own [tool.conveyor.docker] describes it."""
    settings = load_project(REPO_ROOT).settings.docker
    return RootfsRequest(
        suite=settings.base_suite,
        packages=tuple(settings.base_packages),
        mirror=settings.base_mirror,
        ca_certificates=ca_directory(None, settings.extra_ca_certificates),
    )


@pytest.fixture(scope="session")
def repo_base_image(request: pytest.FixtureRequest, docker_engine: Docker) -> str:
    """The repository's base image on a reachable engine (built when absent)."""
    with machine.reporting(request.config) as say:
        return machine.ensure_image(docker_engine, BASE_IMAGE, repo_rootfs(), say)


@pytest.fixture(scope="session")
def demo_images(repo_base_image: str) -> None:
    """The demo's images on the engine, built FROM the repository's base image."""
    build_demo_images()
