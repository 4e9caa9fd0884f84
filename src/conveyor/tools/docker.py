"""The Docker CLI adapter: engine ping, build, inspect, import. argv lists only."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.errors import ConveyorError, ToolFailedError
from conveyor.runner import DEFAULT_RUNNER, Runner, stderr_tail
from conveyor.tools.discovery import DOCKER, FoundTool, discover
from conveyor.validate import (
    refuse_control_characters,
    validate_build_target,
    validate_image,
    validate_passed_build_arg,
)

START_HINT = (
    "start it with `sudo systemctl start docker` (or `nohup dockerd >/tmp/dockerd.log 2>&1 &`), "
    "or point DOCKER_HOST at a running engine"
)


class DaemonUnreachableError(ConveyorError):
    """The CLI is there but no engine answers."""


@dataclass(frozen=True)
class ImageInfo:
    """What `docker image inspect` says about one image."""

    id: str
    tags: tuple[str, ...]
    size: int
    labels: Mapping[str, str]
    created: str

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ImageInfo:
        config = data.get("Config") or {}
        return cls(
            id=str(data.get("Id", "")),
            tags=tuple(data.get("RepoTags") or ()),
            size=int(data.get("Size") or 0),
            labels=dict(config.get("Labels") or {}),
            created=str(data.get("Created", "")),
        )


@dataclass(frozen=True)
class BuildRequest:
    """One `docker build`: validated before any argv is made."""

    context: Path
    dockerfile: Path
    tags: tuple[str, ...]
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    platforms: tuple[str, ...] = ()
    target: str | None = None

    def __post_init__(self) -> None:
        for tag in self.tags:
            validate_image(tag)
        for key, value in self.build_args.items():
            validate_passed_build_arg(key, value)
        for key, value in self.labels.items():
            refuse_control_characters(f"label {key!r}", key + value)
        if self.target is not None:
            validate_build_target(self.target)


@dataclass
class Docker:
    """A docker CLI bound to one runner; `engine()` proves a daemon answers first."""

    path: str = "docker"
    runner: Runner = field(default_factory=lambda: DEFAULT_RUNNER)

    @classmethod
    def discover(cls, configured: str | None = None, runner: Runner = DEFAULT_RUNNER) -> Docker:
        """A Docker whose CLI is found and recent enough."""
        found: FoundTool = discover(DOCKER, configured, runner)
        return cls(path=found.path, runner=runner)

    def engine_version(self) -> str:
        """The daemon's version; one-line error with how to start it when none answers."""
        done = self.runner.run(
            [self.path, "version", "--format", "{{.Server.Version}}"],
            ok_codes=range(256),
            tool="docker",
            timeout=60,
        )
        version = done.stdout.strip()
        if done.returncode != 0 or not version:
            host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
            detail = stderr_tail(done.stderr, 1) or "no answer"
            raise DaemonUnreachableError(
                f"docker: daemon not reachable at {host} ({detail})", hint=START_HINT
            )
        return version

    def buildx_available(self) -> bool:
        """True when `docker buildx version` works (else the classic builder is used)."""
        done = self.runner.run(
            [self.path, "buildx", "version"], ok_codes=range(256), tool="docker", timeout=60
        )
        return done.returncode == 0

    def inspect_image(self, reference: str) -> ImageInfo | None:
        """The image's metadata, or None when the engine has no such image."""
        validate_image(reference)
        done = self.runner.run(
            [self.path, "image", "inspect", "--format", "{{json .}}", reference],
            ok_codes=range(256),
            tool="docker",
        )
        if done.returncode != 0:
            if "no such image" in done.stderr.lower():
                return None
            raise ToolFailedError(
                f"docker: image inspect {reference} exited {done.returncode}",
                hint=stderr_tail(done.stderr),
            )
        try:
            data = json.loads(done.stdout)
        except json.JSONDecodeError:
            raise ToolFailedError(
                "docker: image inspect wrote invalid JSON", hint=stderr_tail(done.stdout)
            ) from None
        return ImageInfo.from_inspect(data)

    def image_exists(self, reference: str) -> bool:
        """True when the engine has `reference` locally."""
        return self.inspect_image(reference) is not None

    def build_argv(self, request: BuildRequest, *, buildx: bool) -> list[str]:
        """The build command: buildx (with platforms) only when it is present; the classic
        builder with `--force-rm`, so a failed step leaves no intermediate container."""
        argv = [self.path]
        if buildx:
            argv += ["buildx", "build", "--load"]
            if request.platforms:
                argv += ["--platform", ",".join(request.platforms)]
        else:
            argv += ["build", "--force-rm"]
        argv += ["--file", str(request.dockerfile)]
        if request.target:
            argv += ["--target", request.target]
        for tag in request.tags:
            argv += ["--tag", tag]
        for key, value in sorted(request.build_args.items()):
            argv += ["--build-arg", f"{key}={value}"]
        for key, value in sorted(request.labels.items()):
            argv += ["--label", f"{key}={value}"]
        argv.append(str(request.context))
        return argv

    def build(self, request: BuildRequest, *, buildx: bool, on_line: Callable[[str], None]) -> str:
        """Run the build, each output line (secrets masked by the runner) passed to `on_line`;
        the ID of the image it made (from `--iidfile`, so an untagged build is found too)."""
        env = {"DOCKER_BUILDKIT": "1" if buildx else "0"}
        with tempfile.TemporaryDirectory(prefix="conveyor-build-") as tmp:
            iidfile = Path(tmp) / "image-id"
            argv = self.build_argv(request, buildx=buildx)
            argv[-1:-1] = ["--iidfile", str(iidfile)]
            self.runner.stream(argv, on_line, env=env, tool="docker build")
            return iidfile.read_text(encoding="utf-8").strip()

    def tag(self, image_id: str, reference: str) -> None:
        """Point `reference` at `image_id` (`docker tag`)."""
        validate_image(reference)
        self.runner.run([self.path, "tag", image_id, reference], tool="docker", timeout=60)

    def import_rootfs(self, rootfs: Path, reference: str, changes: Sequence[str] = ()) -> str:
        """Stream `tar -C rootfs -c .` into `docker import`; return the new image ID."""
        validate_image(reference)
        importer = [self.path, "import"]
        for change in changes:
            importer += ["--change", change]
        importer += ["-", reference]
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            done = subprocess.run(
                importer, stdin=tar.stdout, capture_output=True, text=True, check=False
            )
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            tar_err = tar.stderr.read().decode(errors="replace") if tar.stderr else ""
            tar.wait()
        if tar.returncode != 0:
            raise ToolFailedError(
                f"tar: exited {tar.returncode} while packing {rootfs}", hint=stderr_tail(tar_err)
            )
        if done.returncode != 0:
            raise ToolFailedError(
                f"docker: import {reference} exited {done.returncode}",
                hint=stderr_tail(done.stderr),
            )
        return done.stdout.strip()
