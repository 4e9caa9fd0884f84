"""Shape 1 end to end with Conveyor's own names: `inv build` builds and tags its three images
(every service is build-only), `inv scan` scans each of them once, and `inv deploy --tag SHA`
runs exactly those images through Conveyor's image overlay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration._demo import BASE_IMAGE, docker, free_port
from tests.integration._services import ServiceTarget, make_project
from tests.integration.conftest import git

pytestmark = pytest.mark.docker
SERVICES = ("db", "backend", "proxy")
IMAGE_BASE = "webstack-it"  # `<project name>-<service>`: the fixture's [project] name


@pytest.fixture
def stack(repo_base_image: str, tmp_path: Path) -> Iterator[ServiceTarget]:
    proxy, backend = free_port(), free_port()
    target = make_project(
        tmp_path / "checkout", "webstack", "services:\n  proxy:\n    restart: always\n", port=proxy,
        env={"PROXY_PORT": str(proxy), "BACKEND_PORT": str(backend), "DB_HEALTH_INTERVAL": "1s",
             "BASE_IMAGE": BASE_IMAGE},
    )  # fmt: skip
    sha = git(target.root, "rev-parse", "--short=12", "HEAD")
    tags = [f"{IMAGE_BASE}-{s}:{t}" for s in SERVICES for t in (sha, "0")]  # sha and version
    docker("rmi", *tags, check=False)  # a version tag left by an earlier run would not move
    try:
        yield target
    finally:
        target.down()
        docker("rmi", "-f", *tags, check=False)


def image_id(reference: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", reference, check=False).stdout.strip()


def test_build_tags_every_image_scan_covers_each_deploy_runs_them(stack: ServiceTarget) -> None:
    sha = git(stack.root, "rev-parse", "--short=12", "HEAD")
    built = stack.invoke("build", "--env", "staging")
    assert built.returncode == 0, built.stdout + built.stderr
    ids = {service: image_id(f"{IMAGE_BASE}-{service}:{sha}") for service in SERVICES}
    assert all(ids.values()), (ids, built.stdout)
    assert len(set(ids.values())) == 3

    scanned = stack.invoke("scan", "--no-vuln")
    summary = json.loads((stack.root / "reports" / "scan" / "scan.json").read_text())
    images = sorted(r["target"] for r in summary["scans"] if r["name"] == "trivy-image")
    assert images == sorted(f"{IMAGE_BASE}-{s}:{sha}" for s in SERVICES), scanned.stdout
    assert all(not r["problem"] for r in summary["scans"]), summary["scans"]

    deployed = stack.invoke("deploy", "--env", "staging", "--tag", sha)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    status, body = stack.get("/")
    assert status == 200, body
    running = json.loads(docker("inspect", *stack.containers().values()).stdout)
    by_service = {c["Config"]["Labels"]["com.docker.compose.service"]: c["Image"] for c in running}
    assert by_service == ids  # exactly what `inv build` tagged, build-only services included
