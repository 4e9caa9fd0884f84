"""The fixture services (tests/fixtures/services) as throwaway deploy targets.

Each target is a copy of a fixture in its own git repository, with its own compose project
name and free host ports, plus what adopting Conveyor adds: a deploy overlay that names the
images (`<repo>:${APP_TAG}`), an env file and `[tool.conveyor.deploy]`. The images are built
once per session from the fixtures' own Dockerfiles, FROM the repository's base image, and
tagged per release: `good`, `good2` and broken variants of the one service that changes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoke.config import Config
from invoke.context import Context

from tests.conftest import REPO_ROOT
from tests.integration._demo import BASE_IMAGE, docker, free_port
from tests.integration.conftest import git

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "services"
GOOD, GOOD2, CRASH, WRONG_PORT = "good", "good2", "crash", "wrong-port"
WEBSTACK = {
    "db": "cvit-webstack-db",
    "backend": "cvit-webstack-backend",
    "proxy": "cvit-webstack-proxy",
}
FASTAPI = {"web": "cvit-fastapi-web"}


def build(tag: str, context: Path, *args: str) -> None:
    subprocess.run(
        ["docker", "build", "-q", "--force-rm", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
         *args, "-t", tag, str(context)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip


def derive(tag: str, base: str, line: str) -> None:
    """An image FROM `base` with one more Dockerfile line (a broken release)."""
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, "-"],
        input=f"FROM {base}\n{line}\n", check=True, capture_output=True, text=True,
    )  # fmt: skip


def retag(repository: str, source: str, *tags: str) -> None:
    for tag in tags:
        docker("tag", f"{repository}:{source}", f"{repository}:{tag}")


def build_webstack_images() -> None:
    """db, backend (target production) and proxy; only the backend differs between tags."""
    root = FIXTURES / "webstack"
    build(f"{WEBSTACK['db']}:{GOOD}", root / "db")
    build(f"{WEBSTACK['proxy']}:{GOOD}", root / "proxy")
    backend = WEBSTACK["backend"]
    for release in (GOOD, GOOD2):
        build(f"{backend}:{release}", root / "backend", "--target", "production",
              "--build-arg", f"APP_RELEASE={release}")  # fmt: skip
    boot_fails = "echo backend: boot failed: no database settings >&2; exit 3"
    derive(f"{backend}:{CRASH}", f"{backend}:{GOOD}", f'CMD ["sh", "-c", "{boot_fails}"]')
    derive(f"{backend}:{WRONG_PORT}", f"{backend}:{GOOD}", "ENV PORT=9000")
    for name in ("db", "proxy"):
        retag(WEBSTACK[name], GOOD, GOOD2, CRASH, WRONG_PORT)


def build_fastapi_images() -> None:
    """The FastAPI app as two good releases and one that cannot boot."""
    web = FASTAPI["web"]
    for release in (GOOD, GOOD2):
        build(f"{web}:{release}", FIXTURES / "fastapi-redis", "--build-arg",
              f"APP_RELEASE={release}")  # fmt: skip
    derive(f"{web}:{CRASH}", f"{web}:{GOOD}", 'ENV BOOT_FAILURE="missing settings module"')


WEBSTACK_OVERLAY = """\
# Added when adopting Conveyor: the image each service runs, one tag for the release.
services:
  db:
    image: cvit-webstack-db:${APP_TAG:-good}
  backend:
    image: cvit-webstack-backend:${APP_TAG:-good}
    environment:
      ADMIN_TOKEN: ${ADMIN_TOKEN:-}
      BOOT_FAILURE: ${BACKEND_BOOT_FAILURE:-}
  proxy:
    image: cvit-webstack-proxy:${APP_TAG:-good}
"""

FASTAPI_OVERLAY = """\
# Added when adopting Conveyor: the image the app runs, one tag per release.
services:
  web:
    image: cvit-fastapi-web:${APP_TAG:-good}
"""


@dataclass
class ServiceTarget:
    """A fixture project deployed to `staging`; `secrets` were planted in its files."""

    root: Path
    project: str
    port: int
    env: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    first_output: str = ""

    @property
    def env_file(self) -> Path:
        return self.root / "test.env"

    def write_env(self, **overrides: str) -> None:
        values = {**self.env, **overrides}
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def context(self) -> Context:
        return Context(Config(overrides={"conveyor": {"root": str(self.root)}}))

    def get(self, path: str = "/", port: int | None = None) -> tuple[int, dict[str, Any]]:
        """GET on a published port: status and JSON body (0 when nothing answers)."""
        url = f"http://127.0.0.1:{port or self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return int(reply.status), json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {}
        except (OSError, ValueError):
            return 0, {}

    def serving_release(self) -> str:
        status, body = self.get("/")
        return str(body.get("release", "")) if status == 200 else f"(status {status})"

    def containers(self) -> dict[str, str]:
        """Service -> container ID of the project's containers."""
        label = f"label=com.docker.compose.project={self.project}"
        ids = docker("ps", "-aq", "--no-trunc", "--filter", label).stdout.split()
        if not ids:
            return {}
        data = json.loads(docker("inspect", *ids, check=False).stdout or "[]")
        return {d["Config"]["Labels"]["com.docker.compose.service"]: d["Id"] for d in data}

    def inspect(self, service: str) -> dict[str, Any]:
        found = json.loads(docker("inspect", self.containers()[service]).stdout)
        return dict(found[0])

    def invoke(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`inv <args>` in a child process, to completion."""
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=cwd or self.root, env={**os.environ, **(env or {})},
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    def ledger_labels(self) -> str:
        """`docker volume inspect` of every ledger volume, as text."""
        names = docker(
            "volume", "ls", "-q", "--filter", f"label=io.conveyor.ledger={self.project}"
        ).stdout.split()
        return docker("volume", "inspect", *names).stdout if names else ""

    def ledger(self) -> list[dict[str, Any]]:
        records = json.loads(self.ledger_labels() or "[]")
        releases = [json.loads(v["Labels"]["io.conveyor.ledger.record"]) for v in records]
        return sorted(releases, key=lambda r: int(r["id"]))

    def down(self) -> None:
        """Remove everything the project left on the engine."""
        label = f"label=com.docker.compose.project={self.project}"
        ids = docker("ps", "-aq", "--filter", label).stdout.split()
        if ids:
            docker("rm", "-f", *ids, check=False)
        docker("rm", "-f", f"conveyor-lock-{self.project}", check=False)
        for kind in ("network", "volume"):
            names = docker(kind, "ls", "-q", "--filter", label).stdout.split()
            if names:
                docker(kind, "rm", *names, check=False)
        ledger = docker(
            "volume", "ls", "-q", "--filter", f"label=io.conveyor.ledger={self.project}"
        ).stdout.split()
        if ledger:
            docker("volume", "rm", *ledger, check=False)


def make_project(
    base: Path,
    fixture: str,
    overlay: str,
    *,
    env: Mapping[str, str],
    port: int,
    settings: str = "",
    smoke: Sequence[str] = ("/",),
) -> ServiceTarget:
    """Copy a fixture into a fresh git repository and adopt it for `inv deploy`."""
    shutil.copytree(FIXTURES / fixture, base)
    project = f"cvit-{fixture[:8]}-{uuid.uuid4().hex[:6]}"
    target = ServiceTarget(root=base, project=project, port=port, env=dict(env))
    (base / "compose.deploy.yaml").write_text(overlay)
    target.write_env()
    tests = ", ".join(
        f'{{ path = "{p}", status = 200, timeout = 3, deadline = 15 }}' for p in smoke
    )
    (base / "pyproject.toml").write_text(
        f"""[project]
name = "{fixture}-it"
version = "0"

[tool.conveyor.deploy]
compose-files = ["compose.yaml", "compose.deploy.yaml"]
health-timeout = 60
stability-window = 2
log-lines = 20
smoke = [{tests}]
{settings}
[tool.conveyor.deploy.environments.staging]
env-file = "test.env"
project = "{project}"
port = {port}
""",
        encoding="utf-8",
    )
    (base / "tasks.py").write_text("from conveyor.tasks import namespace\n\nns = namespace()\n")
    (base / ".gitignore").write_text("/reports/\n")
    git(base, "init", "-q", "-b", "main")
    git(base, "add", "-A")
    git(base, "commit", "-q", "-m", "adopt conveyor")
    return target


def webstack_target(base: Path) -> ServiceTarget:
    """Shape 1 with planted secrets: a db password, an env_file value, an env variable."""
    planted = {
        "db_password": f"pw-{secrets.token_hex(8)}",
        "session": f"session-{secrets.token_hex(8)}",
        "admin_token": f"token-{secrets.token_hex(8)}",
    }
    proxy, backend = free_port(), free_port()
    target = make_project(
        base, "webstack", WEBSTACK_OVERLAY, port=proxy,
        env={"PROXY_PORT": str(proxy), "BACKEND_PORT": str(backend), "DB_HEALTH_INTERVAL": "1s",
             "BASE_IMAGE": BASE_IMAGE, "ADMIN_TOKEN": planted["admin_token"]},
    )  # fmt: skip
    (base / "secrets" / "db_password.txt").write_text(planted["db_password"] + "\n")
    env_file = base / "backend.env"
    env_file.write_text(env_file.read_text().replace("change-me", planted["session"]))
    git(base, "commit", "-q", "-am", "plant secrets")
    target.secrets = planted
    return target


def fastapi_target(base: Path, settings: str = "") -> ServiceTarget:
    """Shape 2, adopted without adding any healthcheck."""
    web, redis = free_port(), free_port()
    return make_project(
        base, "fastapi-redis", FASTAPI_OVERLAY, port=web, settings=settings,
        env={"WEB_PORT": str(web), "REDIS_PORT": str(redis), "BASE_IMAGE": BASE_IMAGE},
    )  # fmt: skip
