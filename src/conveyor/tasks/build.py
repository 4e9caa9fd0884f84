"""Invoke tasks: `inv build` (every image of the project), `inv docker.base-image` (its base)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import Task, task
from rich.console import Console

from conveyor.ci import plain_output
from conveyor.config import Project
from conveyor.errors import InvalidInputError, ToolNotFoundError
from conveyor.images.plan import ImageBuild, own_output, planned_builds
from conveyor.images.revision import (
    created_at,
    git_revision,
    oci_labels,
    project_version,
    tag_scheme,
)
from conveyor.images.secrets import credential_args, environment_secrets
from conveyor.masking import secrets_of
from conveyor.policy.tags import TagMove, refuse_moves, short_id, tag_moves
from conveyor.reports.console import render_table
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.tasks._common import project_of, reports_errors
from conveyor.tools.debootstrap import Debootstrap, RootfsRequest
from conveyor.tools.docker import BuildRequest, Docker, ImageInfo
from conveyor.validate import parse_build_arg, validate_image, validate_repository

IMAGE_CHANGES = (
    'CMD ["/bin/bash"]',
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
)
NO_CA = ("", "none")


class PhaseLines:
    """Plain progress for CI logs: debootstrap's lines are `I: <Phase> ...` per package,
    hundreds of them, interleaved (Retrieving, Validating, Retrieving, ...). Print the first
    line of each phase, every other line (warnings, errors) in full, and at the end one line
    counting each phase."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, line: str) -> None:
        words = line.split()
        if len(words) > 1 and words[0] == "I:":
            phase = words[1]
            self.counts[phase] = self.counts.get(phase, 0) + 1
            if self.counts[phase] > 1:
                return
        print(f"  {line}", flush=True)

    def summary(self) -> str:
        """`  Retrieving: 93, Validating: 93, ...` for the phases that repeated."""
        repeated = [f"{phase}: {n}" for phase, n in self.counts.items() if n > 1]
        return f"  lines per phase: {', '.join(repeated)}" if repeated else ""


@contextmanager
def progress(title: str, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """A line sink: a live rich status in a terminal, a few plain lines in CI."""
    if console is None and plain_output():
        print(title, flush=True)
        lines = PhaseLines()
        yield lines
        if lines.summary():
            print(lines.summary(), flush=True)
        return
    with (console or Console()).status(title) as status:
        yield lambda line: status.update(f"{title}: {line[:100]}")


def engine(project: Project, runner: Runner = DEFAULT_RUNNER) -> Docker:
    """A Docker CLI whose daemon answers."""
    docker = Docker.discover(project.settings.docker.docker, runner)
    docker.engine_version()
    return docker


def default_image(project: Project, runner: Runner = DEFAULT_RUNNER) -> str:
    """The reference `inv build` gives the configured image (the one `inv scan` scans)."""
    docker = project.settings.docker
    version = project_version(project.root) if docker.tag_version else None
    revision = git_revision(project.root, runner, own_output=own_output(project))
    scheme = tag_scheme(revision, version, latest=docker.tag_latest)
    return f"{validate_repository(docker.image)}:{scheme.primary}"


def parse_build_args(texts: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` options from the command line, validated (later wins)."""
    return dict(parse_build_arg(text) for text in texts or [])


def build_secrets(project: Project, env: str | None) -> set[str]:
    """Credentials known before the plan: the environment, the deploy env file."""
    deploy = project.settings.deploy
    environment = deploy.environments.get(env) if env else None
    env_file = (environment.env_file if environment else None) or deploy.env_file
    return environment_secrets(env_file=project.root / env_file if env_file else None)


def require_base_images(docker: Docker, builds: list[ImageBuild]) -> None:
    """Every BASE_IMAGE the builds get exists: nothing can be pulled."""
    for base in dict.fromkeys(b.base_image for b in builds if b.base_image):
        if not docker.image_exists(base):
            raise ToolNotFoundError(
                f"base image {base} not found in the Docker engine",
                hint="build it with `inv docker.base-image` (or set [tool.conveyor.docker] "
                "base-image / --build-arg BASE_IMAGE=...)",
            )


def run_build(
    docker: Docker,
    item: ImageBuild,
    labels: dict[str, str],
    platforms: tuple[str, ...],
    *,
    buildx: bool,
) -> ImageInfo:
    """One `docker build` with its output streamed (masked); the image it made."""
    request = BuildRequest(
        context=item.context,
        dockerfile=item.dockerfile,
        tags=item.tags,
        build_args=item.args,
        labels={**item.labels, **labels},
        platforms=platforms,
        target=item.target,
    )
    where = ", ".join(item.services) or item.origins[0]
    print(f"building {item.reference} for {where} ({'buildx' if buildx else 'classic builder'})")
    print(f"$ {docker.runner.describe(docker.build_argv(request, buildx=buildx))}", flush=True)
    image_id = docker.build(
        request, buildx=buildx, on_line=lambda line: print(f"  {line}", flush=True)
    )
    info = docker.inspect_image(image_id)
    if info is None:  # pragma: no cover - docker build succeeded but left no image
        raise ToolNotFoundError(f"docker build left no image {item.reference}")
    return info


def pin_version_tags(
    docker: Docker, built: list[tuple[ImageBuild, ImageInfo]], *, force: bool
) -> list[TagMove]:
    """Add the version tags; refuse (before adding any) one that would move without force."""
    wanted = {ref: info.id for item, info in built for ref in item.pinned_tags}
    current = {ref: _image_id(docker, ref) for ref in wanted}
    moves = tag_moves(current, wanted)
    refuse_moves(moves, force=force)
    for reference, image_id in wanted.items():
        if current[reference] != image_id:
            docker.tag(image_id, reference)
    return moves


def _image_id(docker: Docker, reference: str) -> str | None:
    info = docker.inspect_image(reference)
    return info.id if info else None


def summary_rows(built: list[tuple[ImageBuild, ImageInfo]]) -> list[list[str]]:
    """One row per image: services, references, ID, size."""
    return [
        [
            ", ".join(item.services) or "-",
            ", ".join((*item.tags, *item.pinned_tags)),
            short_id(info.id),
            f"{info.size / 1_000_000:.1f} MB",
        ]
        for item, info in built
    ]


@task(
    iterable=["build_arg", "secret_build_arg"],
    help={
        "build_arg": "extra KEY=VALUE build argument for every image (repeatable; validated)",
        "secret_build_arg": "like --build-arg, its value masked in all output (repeatable)",
        "service": "build only the image of this compose service (or image name)",
        "env": "read the compose files and env file of this deploy environment",
        "force": "move a version tag that already names another image",
    },
)
@reports_errors
def build(
    c: Context,
    *,
    build_arg: list[str] | None = None,
    secret_build_arg: list[str] | None = None,
    service: str | None = None,
    env: str | None = None,
    force: bool = False,
) -> None:
    """Build every image: the configured Dockerfile and each compose `build:` section, one tag
    scheme for all (`<sha>` or `<sha>-dirty`, the version, `latest` when configured)."""
    project = project_of(c)
    secret_args = parse_build_args(secret_build_arg)
    cli_args = {**parse_build_args(build_arg), **secret_args}
    marked = {*project.settings.docker.secret_build_args, *secret_args}
    runner = Runner(secrets=build_secrets(project, env))
    runner.secrets |= secrets_of(cli_args, marked)
    plan = planned_builds(project, env=env, build_args=cli_args, runner=runner)
    builds = plan.select(service)
    for item in builds:
        runner.secrets |= secrets_of(item.args, marked)
    for note in plan.notes:
        print(f"note: {note}", flush=True)
    for name in sorted({n for b in builds for n in credential_args(b.args, marked)}):
        print(
            f"note: build arg {name} carries a credential: masked here, but a RUN in a stage "
            "that declares it keeps it in that stage's history (keep it out of the final stage)",
            flush=True,
        )
    docker = engine(project, runner)
    require_base_images(docker, builds)
    buildx = docker.buildx_available()
    created = created_at(plan.revision, datetime.now(timezone.utc))
    labels = oci_labels(plan.revision, plan.version, created)
    platforms = tuple(project.settings.docker.platforms)
    built = [(item, run_build(docker, item, labels, platforms, buildx=buildx)) for item in builds]
    for move in pin_version_tags(docker, built, force=force):
        print(f"moved {move.describe()} (--force)", flush=True)
    render_table("images", ["services", "tags", "image id", "size"], summary_rows(built))


def describe_image(info: ImageInfo, tags: list[str]) -> str:
    """The lines `inv docker.base-image` ends with."""
    return "\n".join(
        [
            f"image id: {info.id}",
            f"tags:     {', '.join(tags)}",
            f"size:     {info.size / 1_000_000:.1f} MB",
        ]
    )


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
