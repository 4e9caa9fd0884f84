"""`inv build` on a compose project with build: sections, against the real engine and Compose."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.config import load_project
from conveyor.deploy.target import resolve_target
from conveyor.images.plan import built_images, planned_builds
from conveyor.tools.compose import Compose
from tests.conftest import REPO_ROOT
from tests.integration.conftest import RunTask, git

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "builds" / "compose-builds"
PYPROJECT = """\
[project]
name = "compose-builds"
version = "1.0.0"

[tool.conveyor.docker]
image = "{name}-app"
base-image = "{base}"
build-args = {{ EDITION = "enterprise" }}

[tool.conveyor.deploy]
compose-files = ["docker-compose.yml"]
project = "{name}"
"""


@dataclass
class Shop:
    """A copy of the fixture with a unique project name, committed in git."""

    root: Path
    name: str

    @property
    def sha(self) -> str:
        return git(self.root, "rev-parse", "--short=12", "HEAD")

    def commit(self, message: str) -> None:
        git(self.root, "add", ".")
        git(self.root, "commit", "-q", "-m", message)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def image_id(reference: str) -> str | None:
    done = docker("image", "inspect", "--format", "{{.Id}}", reference, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def labels(reference: str) -> dict[str, str]:
    done = docker("image", "inspect", "--format", "{{json .Config.Labels}}", reference)
    found = json.loads(done.stdout)
    assert isinstance(found, dict)
    return found


@pytest.fixture
def shop(base_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    name = f"cvimg-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("APP_IMAGE", f"{name}-app")  # the compose app service's image name
    root = tmp_path / "shop"
    shutil.copytree(FIXTURE, root)
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name, base=base_image))
    (root / "tasks.py").write_text("from conveyor.tasks import namespace\n\nns = namespace()\n")
    git(root, "init", "-q", "-b", "main")
    created = Shop(root, name)
    created.commit("shop")
    yield created
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout.split()
    mine = [ref for ref in listed if ref.startswith(f"{name}-")]
    if mine:
        docker("rmi", "-f", *mine, check=False)


@pytest.mark.docker
def test_build_builds_and_tags_every_image_compose_then_runs(shop: Shop, run_task: RunTask) -> None:
    result = run_task(shop.root, "build")
    assert result.code == 0, result.out + result.err
    sha = shop.sha
    ids = {}
    for service in ("app", "backend", "proxy"):
        reference = f"{shop.name}-{service}:{sha}"
        ids[service] = image_id(reference)
        assert ids[service] is not None, f"{reference} not built"
        assert image_id(f"{shop.name}-{service}:1.0.0") == ids[service]
        assert labels(reference)["org.opencontainers.image.revision"] == sha
    assert len(set(ids.values())) == 3
    backend = labels(f"{shop.name}-backend:{sha}")
    assert backend["fixture.stage"] == "runtime"  # the compose target, not the last stage
    assert backend["fixture.channel"] == "stable channel"  # a compose arg with a space
    greeting = docker("run", "--rm", f"{shop.name}-backend:{sha}")
    assert greeting.stdout.strip() == "hello-from-compose"  # interpolated by Compose
    assert labels(f"{shop.name}-app:{sha}")["fixture.edition"] == "enterprise"  # config arg
    assert "--force-rm" in result.out
    assert "store" not in result.out.split("images")[-1]  # nothing built for a plain image
    assert len(max(result.out.splitlines(), key=len)) > 100  # wide output, not wrapped at 80

    # Compose runs exactly these images: build-only services through Conveyor's overlay.
    target = resolve_target(load_project(shop.root), None, sha)
    compose = Compose(target.compose)
    try:
        created = compose.runner.run(
            compose.compose_argv("up", "--no-start", "--no-build"),
            cwd=shop.root,
            env=dict(target.compose.variables),
            ok_codes=range(256),
            timeout=120,
        )
        assert created.returncode == 0, created.stderr
        running = {c.service: c.image_id for c in compose.containers()}
        assert running["app"] == ids["app"]
        assert running["backend"] == ids["backend"]
        assert running["proxy"] == ids["proxy"]
    finally:
        compose.down()

    plan = planned_builds(load_project(shop.root))
    assert built_images(load_project(shop.root)) == plan.references
    assert sorted(plan.references) == sorted(f"{shop.name}-{s}:{sha}" for s in ids)

    again = run_task(shop.root, "build")  # same commit, cached: same IDs, version tags stay
    assert again.code == 0, again.err
    assert (
        "-dirty" not in again.out
    )  # Conveyor's own .conveyor/ (not git-ignored here) is not a change
    assert image_id(f"{shop.name}-backend:1.0.0") == ids["backend"]


@pytest.mark.docker
def test_scan_covers_every_built_image_and_every_dockerfile_once(
    shop: Shop, run_task: RunTask
) -> None:
    built = run_task(shop.root, "build")
    assert built.code == 0, built.out + built.err
    result = run_task(shop.root, "scan", "--no-vuln")
    summary = json.loads((shop.root / "reports" / "scan" / "scan.json").read_text())
    image_runs = sorted(r["target"] for r in summary["scans"] if r["name"] == "trivy-image")
    assert image_runs == sorted(f"{shop.name}-{s}:{shop.sha}" for s in ("app", "backend", "proxy"))
    dockerfiles = [f["path"] for f in summary["findings"] if f["rule_id"] == "DS-0002"]
    assert len(dockerfiles) == len(set(dockerfiles))  # fs and config: one finding each
    assert {"backend/Dockerfile.web", "proxy/Dockerfile"} <= set(dockerfiles)
    raw = sorted(p.name for p in (shop.root / "reports" / "scan" / "raw").glob("trivy-image*"))
    assert len(raw) == 3  # one report per image, none overwritten
    assert result.code == 1, result.out  # the fixtures run as root: blocking, and said so
    assert "DS-0002" in result.out


@pytest.mark.docker
def test_build_one_service(shop: Shop, run_task: RunTask) -> None:
    result = run_task(shop.root, "build", "--service", "proxy")
    assert result.code == 0, result.err
    assert image_id(f"{shop.name}-proxy:{shop.sha}") is not None
    assert image_id(f"{shop.name}-backend:{shop.sha}") is None
    assert image_id(f"{shop.name}-app:{shop.sha}") is None
    unknown = run_task(shop.root, "build", "--service", "store")
    assert unknown.code == 2
    assert unknown.err.splitlines()[0] == "error: --service 'store': no image is built for it"
    assert "app, backend, proxy" in unknown.err


@pytest.mark.docker
def test_dirty_tree_is_tagged_dirty_and_gets_no_version(shop: Shop, run_task: RunTask) -> None:
    with (shop.root / "proxy" / "Dockerfile").open("a") as dockerfile:
        dockerfile.write('LABEL fixture.change="uncommitted"\n')
    result = run_task(shop.root, "build", "--service", "proxy")
    assert result.code == 0, result.err
    dirty = image_id(f"{shop.name}-proxy:{shop.sha}-dirty")
    assert dirty is not None
    assert labels(f"{shop.name}-proxy:{shop.sha}-dirty")["fixture.change"] == "uncommitted"
    assert image_id(f"{shop.name}-proxy:{shop.sha}") is None  # never the clean sha
    assert image_id(f"{shop.name}-proxy:1.0.0") is None


@pytest.mark.docker
def test_moving_a_version_tag_needs_force(shop: Shop, run_task: RunTask) -> None:
    first = run_task(shop.root, "build", "--service", "proxy")
    assert first.code == 0, first.err
    old = image_id(f"{shop.name}-proxy:1.0.0")
    with (shop.root / "proxy" / "Dockerfile").open("a") as dockerfile:
        dockerfile.write('LABEL fixture.change="second"\n')
    shop.commit("change the proxy, same version")
    refused = run_task(shop.root, "build", "--service", "proxy")
    assert refused.code == 1
    new = image_id(f"{shop.name}-proxy:{shop.sha}")
    assert old is not None
    assert new is not None
    assert new != old
    assert refused.err.splitlines()[0] == (
        f"error: refusing to move {shop.name}-proxy:1.0.0 from {old[:19]} to {new[:19]}: "
        "a version tag names one image"
    )
    assert image_id(f"{shop.name}-proxy:1.0.0") == old  # not moved
    forced = run_task(shop.root, "build", "--service", "proxy", "--force")
    assert forced.code == 0, forced.err
    assert f"moved {shop.name}-proxy:1.0.0 from {old[:19]} to {new[:19]} (--force)" in forced.out
    assert image_id(f"{shop.name}-proxy:1.0.0") == new


@pytest.mark.docker
def test_failing_build_never_prints_a_credential(
    shop: Shop, run_task: RunTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    token = f"tk-{uuid.uuid4().hex}"
    marker = f"marker-{uuid.uuid4().hex}"
    monkeypatch.setenv("REGISTRY_TOKEN", token)
    (shop.root / "proxy" / "Dockerfile").write_text(
        "ARG BASE_IMAGE\n"
        "FROM ${BASE_IMAGE}\n"
        "ARG PIP_INDEX_URL\n"
        "ARG PULL_SECRET\n"
        f'RUN echo "index=$PIP_INDEX_URL pull=$PULL_SECRET {marker}" && exit 3\n'
    )
    compose = (shop.root / "docker-compose.yml").read_text()
    (shop.root / "docker-compose.yml").write_text(
        compose.replace("    build: ./proxy\n", "    build:\n      context: ./proxy\n"
                        "      args:\n        PULL_SECRET: ${REGISTRY_TOKEN}\n")
    )  # fmt: skip
    shop.commit("a proxy build that fails after reading its credentials")
    index = f"https://ci:{password}@pypi.example.invalid/simple"
    result = run_task(
        shop.root, "build", "--service", "proxy", "--build-arg", f"PIP_INDEX_URL={index}"
    )
    output = result.out + result.err
    assert result.code == 2
    assert marker in output  # the failing step's own output is shown...
    assert password not in output  # ...with every credential masked
    assert token not in output
    assert "index=https://*****@pypi.example.invalid/simple pull=*****" in output
    assert result.err.splitlines()[0].startswith("error: docker build: exited ")
    assert "build arg PIP_INDEX_URL carries a credential" in result.out
    leftovers = docker("ps", "--all", "--no-trunc", "--format", "{{.Command}}").stdout
    assert marker not in leftovers  # --force-rm: no intermediate container left behind
