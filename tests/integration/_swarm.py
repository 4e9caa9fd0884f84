"""A single-node swarm on the real engine, and the fixture stack as a throwaway deploy target.

The engine joins a swarm only for the session, and only when it was in none: a swarm that
was already there is used and left as it was. Each target gets its own stack name, port and
planted secrets; its services run the demo images (built FROM the base image, shared with
the compose tests).

This machine's kernel has no IPVS, so Swarm's routing mesh and virtual IPs do not work here:
the targets publish ports on the node (`publish-mode = "host"`) and services find each other
by DNS round robin (`endpoint-mode = "dnsrr"`). Both are Conveyor settings a real swarm can
leave at their defaults.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from invoke.config import Config
from invoke.context import Context

from tests.conftest import REPO_ROOT, unavailable
from tests.integration._demo import BASE_IMAGE, DEMO_REPOSITORY, GOOD, docker, free_port

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "services" / "swarm-stack"
HEALTH_TIMEOUT = 60


def swarm_state() -> dict[str, object]:
    done = docker("info", "--format", "{{json .Swarm}}", check=False)
    return dict(json.loads(done.stdout or "{}") or {})


@pytest.fixture(scope="session")
def swarm_manager(docker_engine: object) -> Iterator[str]:
    """This engine as the manager of a single-node swarm (made for the session if needed)."""
    state = swarm_state()
    if state.get("LocalNodeState") == "active":
        if not state.get("ControlAvailable"):
            unavailable("the Docker engine is a swarm worker; the swarm tests need a manager")
        yield str(state.get("NodeID"))
        return
    if state.get("LocalNodeState") != "inactive":
        unavailable(f"the Docker engine's swarm state is {state.get('LocalNodeState')}")
    made = docker("swarm", "init", "--advertise-addr", "127.0.0.1", check=False)
    if made.returncode != 0:
        unavailable(f"`docker swarm init` failed: {made.stderr.strip()}")
    try:
        yield str(swarm_state().get("NodeID"))
    finally:
        docker("swarm", "leave", "--force", check=False)


@dataclass
class SwarmTarget:
    """A project directory whose `staging` environment deploys the fixture stack."""

    root: Path
    stack: str
    port: int
    planted: tuple[str, ...]

    @property
    def env_file(self) -> Path:
        return self.root / "test.env"

    def write_env(self, **overrides: str) -> None:
        values = {
            "APP_IMAGE": DEMO_REPOSITORY,
            "APP_TAG": GOOD,
            "APP_PORT": str(self.port),
            "HEALTH_INTERVAL": "1s",
            "BASE_IMAGE": BASE_IMAGE,
            **overrides,
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def context(self) -> Context:
        return Context(Config(overrides={"conveyor": {"root": str(self.root)}}))

    def serving_release(self) -> str:
        """The release the published port answers with (`(status N)` otherwise)."""
        url = f"http://127.0.0.1:{self.port}/health"
        try:
            with urllib.request.urlopen(url, timeout=3) as reply:
                return str(json.loads(reply.read()).get("release", ""))
        except urllib.error.HTTPError as exc:
            return f"(status {exc.code})"
        except OSError:
            return "(no answer)"

    def services(self) -> dict[str, dict[str, object]]:
        """Service name -> its `docker service inspect` object."""
        ids = docker(
            "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={self.stack}"
        ).stdout.split()
        if not ids:
            return {}
        data = json.loads(docker("service", "inspect", *ids).stdout)
        return {d["Spec"]["Name"].removeprefix(f"{self.stack}_"): d for d in data}

    def running_tasks(self, service: str) -> list[str]:
        """The IDs of a service's tasks that should run (the same while it is not touched)."""
        return docker(
            "service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running",
            f"{self.stack}_{service}",
        ).stdout.split()  # fmt: skip

    def images(self) -> dict[str, str]:
        """Service -> the image its spec runs."""
        return {
            name: str(d["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])  # type: ignore[index]
            for name, d in self.services().items()
        }

    def ledger_labels(self) -> list[dict[str, str]]:
        """The labels of every ledger record (swarm configs) of this stack."""
        names = docker(
            "config", "ls", "-q", "--filter", f"label=io.conveyor.ledger={self.stack}"
        ).stdout.split()
        if not names:
            return []
        return [d["Spec"]["Labels"] for d in json.loads(docker("config", "inspect", *names).stdout)]

    def lock(self) -> dict[str, str]:
        """The labels of the stack's lock service ({} when unlocked)."""
        found = docker(
            "service", "inspect", "-f", "{{json .Spec.Labels}}", f"conveyor-lock-{self.stack}",
            check=False,
        )  # fmt: skip
        return dict(json.loads(found.stdout)) if found.returncode == 0 else {}

    def invoke(self, *args: str, new_session: bool = False) -> subprocess.Popen[str]:
        """`inv <args>` in a child process (for signals and concurrent deploys)."""
        return subprocess.Popen(
            [sys.executable, "-m", "invoke", *args],
            cwd=self.root,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=new_session,
        )

    def down(self) -> None:
        """Remove the stack, its ledger, lock, secrets and volumes (waiting for them)."""
        docker("stack", "rm", self.stack, check=False)
        docker("service", "rm", f"conveyor-lock-{self.stack}", check=False)
        label = f"label=com.docker.stack.namespace={self.stack}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            left = docker("network", "ls", "-q", "--filter", label).stdout.split()
            left += docker("service", "ls", "-q", "--filter", label).stdout.split()
            if not left:
                break
            time.sleep(0.5)
        configs = docker(
            "config", "ls", "-q", "--filter", f"label=io.conveyor.ledger={self.stack}"
        ).stdout.split()
        if configs:
            docker("config", "rm", *configs, check=False)
        secrets = docker("secret", "ls", "-q", "--filter", label).stdout.split()
        if secrets:
            docker("secret", "rm", *secrets, check=False)
        for _ in range(20):  # the stopped containers holding it go shortly after the stack
            volumes = docker("volume", "ls", "-q", "--filter", label).stdout.split()
            if not volumes or docker("volume", "rm", *volumes, check=False).returncode == 0:
                break
            time.sleep(0.5)


def make_swarm_target(base: Path, *, smoke: tuple[str, ...] = ("/health", "/")) -> SwarmTarget:
    """A fresh copy of the fixture stack with planted secrets and its own stack name and port."""
    shutil.copytree(FIXTURE, base, dirs_exist_ok=True)
    token = f"planted-token-{uuid.uuid4().hex}"
    password = f"planted-password-{uuid.uuid4().hex}"
    (base / "secrets" / "api_token.txt").write_text(token + "\n")
    web_env = (
        (base / "web.env")
        .read_text()
        .replace("STORE_PASSWORD=change-me", f"STORE_PASSWORD={password}")
    )
    (base / "web.env").write_text(web_env)
    target = SwarmTarget(
        root=base, stack=f"cvsw-{uuid.uuid4().hex[:8]}", port=free_port(), planted=(token, password)
    )
    target.write_env()
    tests = ", ".join(
        f'{{ path = "{p}", status = 200, timeout = 3, deadline = 20 }}' for p in smoke
    )
    (base / "pyproject.toml").write_text(
        f"""[project]
name = "swarm-it"
version = "0"

[tool.conveyor.deploy]
compose-files = ["compose.yaml"]
health-timeout = {HEALTH_TIMEOUT}
stability-window = 2
log-lines = 20
smoke = [{tests}]

[tool.conveyor.deploy.swarm]
monitor = 2
# This kernel has no IPVS: no routing mesh, no virtual IPs (see tests/integration/_swarm.py).
publish-mode = "host"
endpoint-mode = "dnsrr"

[tool.conveyor.deploy.environments.staging]
engine = "swarm"
env-file = "test.env"
project = "{target.stack}"
port = {target.port}
""",
        encoding="utf-8",
    )
    (base / "tasks.py").write_text("from conveyor.tasks import namespace\n\nns = namespace()\n")
    return target
