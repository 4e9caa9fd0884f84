"""Invoke tasks: `inv build` (the service image), `inv docker.base-image` (Debian packages)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import Task, task
from rich.console import Console

from conveyor.ci import plain_output
from conveyor.config import PYPROJECT, Project
from conveyor.errors import ConfigError, InvalidInputError, ToolNotFoundError
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.tasks._common import project_of, reports_errors
from conveyor.tools.debootstrap import Debootstrap, RootfsRequest
from conveyor.tools.docker import BuildRequest, Docker, ImageInfo
from conveyor.validate import (
    parse_build_arg,
    validate_build_arg,
    validate_image,
    validate_repository,
    validate_tag,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

BASE_IMAGE_ARG = "BASE_IMAGE"
IMAGE_CHANGES = (
    'CMD ["/bin/bash"]',
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
)
NO_CA = ("", "none")


class PhaseLines:
    """Plain progress for CI logs: the first line of each phase (debootstrap's `I: Verb ...`),
    and every other line (warnings, errors) in full, instead of hundreds of package lines."""

    def __init__(self) -> None:
        self.phase = ""

    def __call__(self, line: str) -> None:
        words = line.split()
        phase = words[1] if len(words) > 1 and words[0] == "I:" else ""
        if phase and phase == self.phase:
            return
        self.phase = phase
        print(f"  {line}", flush=True)


@contextmanager
def progress(title: str, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """A line sink: a live rich status in a terminal, plain printed lines in CI."""
    if console is None and plain_output():
        print(title, flush=True)
        yield PhaseLines()
        return
    with (console or Console()).status(title) as status:
        yield lambda line: status.update(f"{title}: {line[:100]}")


@dataclass(frozen=True)
class Revision:
    """The source the image is built from."""

    sha: str | None
    source: str | None


def git_revision(root: Path, runner: Runner = DEFAULT_RUNNER) -> Revision:
    """HEAD's short SHA and the origin URL, each None when unknown (no git, no remote)."""
    if shutil.which("git") is None:
        return Revision(None, None)
    head = runner.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, ok_codes=range(256))
    remote = runner.run(["git", "remote", "get-url", "origin"], cwd=root, ok_codes=range(256))
    sha = head.stdout.strip() if head.returncode == 0 else None
    source = public_url(remote.stdout.strip()) if remote.returncode == 0 else None
    return Revision(sha or None, source or None)


def public_url(url: str) -> str:
    """`url` without user:token@, so no credential from a remote ever lands in an image label."""
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def project_version(root: Path) -> str | None:
    """`[project].version` from pyproject.toml (None when dynamic or absent)."""
    data = tomllib.loads((root / PYPROJECT).read_text(encoding="utf-8"))
    version = data.get("project", {}).get("version")
    return str(version) if version else None


def image_tags(project: Project, revision: Revision, version: str | None) -> list[str]:
    """`<image>:<sha>`, `<image>:<version>`, and `<image>:latest` only when configured."""
    docker = project.settings.docker
    image = validate_repository(docker.image)
    tags = [t for t in (revision.sha, version) if t]
    if docker.tag_latest:
        tags.append("latest")
    if not tags:
        raise ConfigError(
            f"{project.root / PYPROJECT}: no tag for {image}: not a git checkout and no "
            "[project] version",
            hint="set [project] version or build from a git checkout",
        )
    return [f"{image}:{validate_tag(tag)}" for tag in tags]


def default_image(project: Project, runner: Runner = DEFAULT_RUNNER) -> str:
    """The image `inv build` makes for this checkout (the one `inv scan` scans)."""
    return image_tags(project, git_revision(project.root, runner), project_version(project.root))[0]


def oci_labels(revision: Revision, version: str | None, created: datetime) -> dict[str, str]:
    """The org.opencontainers.image.* labels we know values for."""
    labels = {"org.opencontainers.image.created": created.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if revision.sha:
        labels["org.opencontainers.image.revision"] = revision.sha
    if revision.source:
        labels["org.opencontainers.image.source"] = revision.source
    if version:
        labels["org.opencontainers.image.version"] = version
    return labels


def build_args_for(project: Project, cli_args: list[str]) -> dict[str, str]:
    """BASE_IMAGE, then config build args, then `--build-arg K=V` (later wins); all validated."""
    docker = project.settings.docker
    args = {BASE_IMAGE_ARG: validate_image(docker.base_image)}
    for key, value in docker.build_args.items():
        validate_build_arg(key, value)
        args[key] = value
    for text in cli_args:
        key, value = parse_build_arg(text)
        args[key] = value
    return args


def engine(project: Project) -> Docker:
    """A Docker CLI whose daemon answers."""
    docker = Docker.discover(project.settings.docker.docker)
    docker.engine_version()
    return docker


def describe_image(info: ImageInfo, tags: list[str]) -> str:
    """The lines `inv build` / `inv docker.base-image` end with."""
    return "\n".join(
        [
            f"image id: {info.id}",
            f"tags:     {', '.join(tags)}",
            f"size:     {info.size / 1_000_000:.1f} MB",
        ]
    )


@task(
    iterable=["build_arg"],
    help={"build_arg": "extra KEY=VALUE build argument (repeatable; validated)"},
)
@reports_errors
def build(c: Context, build_arg: list[str] | None = None) -> None:
    """Build the configured Dockerfile on the base image, tagged by git SHA and version."""
    project = project_of(c)
    settings = project.settings.docker
    validate_repository(settings.image)
    args = build_args_for(project, list(build_arg or []))
    dockerfile = project.root / settings.dockerfile
    context = project.root / settings.context
    if not dockerfile.is_file():
        raise ConfigError(
            f"{dockerfile}: Dockerfile not found ([tool.conveyor.docker] dockerfile)",
            hint="create it or point dockerfile at an existing file",
        )
    revision = git_revision(project.root)
    version = project_version(project.root)
    tags = image_tags(project, revision, version)
    labels = oci_labels(revision, version, datetime.now(timezone.utc))
    request = BuildRequest(
        context=context,
        dockerfile=dockerfile,
        tags=tuple(tags),
        build_args=args,
        labels=labels,
        platforms=tuple(settings.platforms),
    )
    docker = engine(project)
    if not docker.image_exists(settings.base_image):
        raise ToolNotFoundError(
            f"base image {settings.base_image} not found in the Docker engine",
            hint="build it with `inv docker.base-image` (or set [tool.conveyor.docker] base-image)",
        )
    buildx = docker.buildx_available()
    print(f"building {tags[0]} ({'buildx' if buildx else 'classic builder'})", flush=True)
    docker.build(request, buildx=buildx)
    info = docker.inspect_image(tags[0])
    if info is None:  # pragma: no cover - docker build succeeded but left no image
        raise ToolNotFoundError(f"docker build left no image {tags[0]}")
    print(describe_image(info, tags), flush=True)


def ca_directory(option: str | None, configured: str | None) -> Path | None:
    """The CA directory from `--ca-certificates` (``none`` disables), else from config."""
    chosen = configured if option is None else option
    if chosen is None or chosen.strip().lower() in NO_CA:
        return None
    return Path(chosen)


@task(
    help={
        "force": "rebuild even when the tag exists",
        "ca_certificates": "directory of *.crt to trust inside the image ('none' to skip)",
        "tag": "image reference to create (default: [tool.conveyor.docker] base-image)",
    }
)
@reports_errors
def base_image(
    c: Context,
    force: bool = False,
    ca_certificates: str | None = None,
    tag: str | None = None,
) -> None:
    """Build the base image from Debian packages (debootstrap + docker import), no registry."""
    project = project_of(c)
    settings = project.settings.docker
    reference = validate_image(tag or settings.base_image)
    request = RootfsRequest(
        suite=settings.base_suite,
        packages=tuple(settings.base_packages),
        mirror=settings.base_mirror,
        ca_certificates=ca_directory(ca_certificates, settings.extra_ca_certificates),
    )
    docker = engine(project)
    if not force and docker.image_exists(reference):
        print(f"{reference} exists; skipping (use --force to rebuild)", flush=True)
        return
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise InvalidInputError(
            "debootstrap needs root to build the base image", hint="run it as root (e.g. in CI)"
        )
    bootstrap = Debootstrap.discover()
    image_id = create_base_image(docker, bootstrap, request, reference)
    info = docker.inspect_image(reference)
    print(describe_image(info, [reference]) if info else f"image id: {image_id}", flush=True)


def create_base_image(
    docker: Docker, bootstrap: Debootstrap, request: RootfsRequest, reference: str
) -> str:
    """debootstrap into a temporary directory, import it as `reference`; return the image ID."""
    with tempfile.TemporaryDirectory(prefix="conveyor-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        title = f"debootstrap {request.suite} ({', '.join(request.packages)})"
        with progress(title) as on_line:
            bootstrap.create(request, rootfs, on_line)
        with progress(f"importing {reference}") as on_line:
            image_id = docker.import_rootfs(rootfs, reference, IMAGE_CHANGES)
            on_line(image_id)
    return image_id


TASKS: list[Task[Callable[..., Any]]] = [build]
COLLECTIONS = [Collection("docker", base_image)]
