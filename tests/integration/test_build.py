"""`inv build` and `inv docker.base-image` against the real Docker engine."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conveyor.tools.docker import Docker
from tests.conftest import require_tool, unavailable
from tests.integration.conftest import (
    HARDENED_DOCKERFILE,
    RunTask,
    git,
    write_project,
)

IMAGE = "conveyor-it/build-demo"


def _docker_toml(base: str, image: str = IMAGE, extra: str = "") -> str:
    return (
        "[tool.conveyor.docker]\n"
        f'image = "{image}"\n'
        f'base-image = "{base}"\n'
        'dockerfile = "docker/Dockerfile"\n'
        'build-args = { GREETING = "from-config" }\n' + extra
    )


def _inspect(reference: str) -> dict[str, Any]:
    done = subprocess.run(
        ["docker", "image", "inspect", reference], capture_output=True, text=True, check=True
    )
    data = json.loads(done.stdout)
    assert isinstance(data, list)
    first = data[0]
    assert isinstance(first, dict)
    return first


def _remove(*references: str) -> None:
    subprocess.run(["docker", "rmi", "-f", *references], capture_output=True, check=False)


@pytest.mark.docker
def test_build_tags_and_labels(base_image: str, git_project: Path, run_task: RunTask) -> None:
    project = write_project(git_project, _docker_toml(base_image), version="1.2.3")
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_text(HARDENED_DOCKERFILE, encoding="utf-8")
    token = "tok" + "3n-not-real"
    git(project, "remote", "add", "origin", f"https://ci:{token}@git.example.invalid/acme/demo.git")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "service")
    sha = git(project, "rev-parse", "--short=12", "HEAD")
    try:
        result = run_task(project, "build", "--build-arg", "GREETING=from-cli")
        assert result.code == 0, result.err
        data = _inspect(f"{IMAGE}:{sha}")
        assert sorted(data["RepoTags"]) == sorted([f"{IMAGE}:{sha}", f"{IMAGE}:1.2.3"])
        config = data["Config"]
        assert isinstance(config, dict)
        labels = config["Labels"]
        assert labels["org.opencontainers.image.revision"] == sha
        assert labels["org.opencontainers.image.source"] == (
            "https://git.example.invalid/acme/demo.git"
        )
        assert labels["org.opencontainers.image.version"] == "1.2.3"
        assert token not in json.dumps(data) + result.out + result.err
        assert labels["org.opencontainers.image.created"].endswith("Z")
        assert labels["demo.greeting"] == "from-cli"  # the command line wins over config
        assert config["User"] == "app"
        assert str(data["Id"])[:19] in result.out  # the short ID, as `docker images` shows
        assert f"{IMAGE}:1.2.3" in result.out
        assert "MB" in result.out
    finally:
        _remove(f"{IMAGE}:{sha}", f"{IMAGE}:1.2.3")


@pytest.mark.docker
def test_build_tags_latest_only_when_configured(
    base_image: str, tmp_path: Path, run_task: RunTask
) -> None:
    image = "conveyor-it/latest-demo"
    project = write_project(
        tmp_path / "nogit", _docker_toml(base_image, image, "tag-latest = true\n"), version="0.9.0"
    )
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_text(HARDENED_DOCKERFILE, encoding="utf-8")
    try:
        result = run_task(project, "build")
        assert result.code == 0, result.err
        data = _inspect(f"{image}:0.9.0")
        assert sorted(data["RepoTags"]) == [f"{image}:0.9.0", f"{image}:latest"]
        labels = data["Config"]["Labels"]
        assert "org.opencontainers.image.revision" not in labels
        assert labels["demo.greeting"] == "from-config"
    finally:
        _remove(f"{image}:0.9.0", f"{image}:latest")


def _marker_docker(tmp_path: Path) -> tuple[Path, Path]:
    """A `docker` that records every call: proves validation happens before any command."""
    marker = tmp_path / "docker-was-called"
    script = tmp_path / "docker"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{marker}"\necho "Docker version 28.0.0"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, marker


@pytest.mark.parametrize(
    "build_arg", ["NAME=a;b", "NAME=$(id)", "NAME=a b", "NAME=a\nb", "BAD-KEY=x"]
)
def test_build_rejects_bad_build_args_before_running_anything(
    tmp_path: Path, run_task: RunTask, build_arg: str
) -> None:
    script, marker = _marker_docker(tmp_path)
    project = write_project(
        tmp_path / "p",
        _docker_toml("conveyor-test/base:bookworm", extra=f'docker = "{script}"\n'),
    )
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_text(HARDENED_DOCKERFILE, encoding="utf-8")
    result = run_task(project, "build", "--build-arg", build_arg)
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert first.startswith("error: invalid build-arg")
    assert "Traceback" not in result.err
    assert not marker.exists()


@pytest.mark.parametrize("image", ["app;rm", "app$(id)", "my app", "app\nx", "App/Upper"])
def test_build_rejects_bad_image_names_before_running_anything(
    tmp_path: Path, run_task: RunTask, image: str
) -> None:
    script, marker = _marker_docker(tmp_path)
    toml_image = image.replace("\n", "\\n")
    project = write_project(
        tmp_path / "p",
        _docker_toml("conveyor-test/base:bookworm", toml_image, f'docker = "{script}"\n'),
    )
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_text(HARDENED_DOCKERFILE, encoding="utf-8")
    result = run_task(project, "build")
    assert result.code == 2
    assert result.err.splitlines()[0].startswith("error: invalid image name")
    assert not marker.exists()


def test_daemon_unreachable_is_one_line(
    tmp_path: Path, run_task: RunTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    project = write_project(tmp_path / "p", _docker_toml("conveyor-test/base:bookworm"))
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_text(HARDENED_DOCKERFILE, encoding="utf-8")
    require_tool("docker")
    result = run_task(project, "build")
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[0].startswith("error: docker: daemon not reachable at unix:///nonexistent.sock")
    assert "start it with" in result.err
    assert "Traceback" not in result.err


@pytest.mark.docker
def test_base_image_task_skips_an_existing_tag(
    base_image: str, tmp_path: Path, run_task: RunTask
) -> None:
    project = write_project(tmp_path / "p", _docker_toml(base_image))
    result = run_task(project, "docker.base-image")
    assert result.code == 0, result.err
    assert f"{base_image} exists; skipping" in result.out


@pytest.mark.docker
def test_build_without_base_image_says_how_to_make_it(
    docker_engine: Docker, tmp_path: Path, run_task: RunTask
) -> None:
    missing = "conveyor-test/absent-base:never"
    assert not docker_engine.image_exists(missing)
    project = write_project(tmp_path / "p", _docker_toml(missing))
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_text(HARDENED_DOCKERFILE, encoding="utf-8")
    result = run_task(project, "build")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        f"error: base image {missing} not found in the Docker engine"
    )
    assert "inv docker.base-image" in result.err


def test_base_image_task_needs_ca_certificates_package(tmp_path: Path, run_task: RunTask) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    project = write_project(
        tmp_path / "p",
        f'[tool.conveyor.docker]\nbase-packages = ["python3"]\nextra-ca-certificates = "{certs}"\n',
    )
    result = run_task(project, "docker.base-image", "--force")
    assert result.code == 2
    assert "ca-certificates" in result.err.splitlines()[0]
    assert os.path.isdir(certs)


@pytest.mark.docker
def test_base_image_from_debian_packages_trusts_extra_certificates(
    docker_engine: Docker, tmp_path: Path, run_task: RunTask
) -> None:
    if os.geteuid() != 0:
        unavailable("debootstrap needs root")
    certs = tmp_path / "certs"
    certs.mkdir()
    system_ca = sorted(Path("/etc/ssl/certs").glob("*.pem"))[0]
    (certs / "conveyor-test-extra.crt").write_bytes(system_ca.read_bytes())
    tag = "conveyor-test/base-force:bookworm"
    project = write_project(
        tmp_path / "p",
        "[tool.conveyor.docker]\n"
        f'base-image = "{tag}"\n'
        'base-packages = ["ca-certificates"]\n'
        f'extra-ca-certificates = "{certs}"\n',
    )
    try:
        result = run_task(project, "docker.base-image", "--force")
        assert result.code == 0, result.err
        assert "debootstrap bookworm (ca-certificates)" in result.out
        assert "Added 1 CA certificate(s)" in result.out
        assert f"tags:     {tag}" in result.out
        config = _inspect(tag)["Config"]
        assert config["Cmd"] == ["/bin/bash"]
        assert any(e.startswith("PATH=/usr/local/sbin") for e in config["Env"])
        listing = subprocess.run(
            ["docker", "run", "--rm", tag, "ls", "/etc/ssl/certs"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "conveyor-test-extra.pem" in listing.stdout
        again = run_task(project, "docker.base-image")
        assert f"{tag} exists; skipping" in again.out
    finally:
        _remove(tag)


@pytest.mark.docker
def test_build_outside_git_tags_only_the_version(
    base_image: str, tmp_path: Path, run_task: RunTask
) -> None:
    image = "conveyor-it/version-only"
    project = write_project(tmp_path / "nogit", _docker_toml(base_image, image), version="0.9.1")
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_text(HARDENED_DOCKERFILE, encoding="utf-8")
    try:
        result = run_task(project, "build")
        assert result.code == 0, result.err
        assert _inspect(f"{image}:0.9.1")["RepoTags"] == [f"{image}:0.9.1"]
    finally:
        _remove(f"{image}:0.9.1")
