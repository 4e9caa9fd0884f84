"""Every image `inv build` makes, planned before anything runs.

Two sources ask for images: `[tool.conveyor.docker]` (one Dockerfile) and each service of
the deploy's compose files with a `build:` section (context, dockerfile, target, args,
labels), read from `compose config` so Compose itself resolves variables and paths. Builds
that are the same (context, Dockerfile, target, args) run once, under every name they have;
one image name built two different ways is refused. Every image gets the same tags.

Build args, later wins: BASE_IMAGE (the base image setting), `[tool.conveyor.docker]
build-args`, the service's compose `args`, then `--build-arg` from the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from conveyor.config import Project
from conveyor.deploy.target import Target, project_slug, resolve_target
from conveyor.errors import ConfigError, InvalidInputError
from conveyor.images.naming import service_repository
from conveyor.images.revision import (
    Revision,
    TagScheme,
    git_revision,
    project_version,
    tag_scheme,
)
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.tools.compose import (
    BuildSection,
    Compose,
    is_remote_context,
    parse_build_sections,
    parse_config,
)
from conveyor.validate import (
    IMAGE_REFERENCE,
    validate_build_arg,
    validate_image,
    validate_passed_build_arg,
    validate_repository,
)

BASE_IMAGE_ARG = "BASE_IMAGE"
CONFIGURED = "[tool.conveyor.docker]"
UNBUILDABLE_KEYS = frozenset({"dockerfile_inline", "additional_contexts", "ssh", "secrets"})
"""`build:` keys the classic builder cannot honour: refused rather than silently dropped."""


@dataclass(frozen=True)
class BuildSource:
    """One request for an image: the configured Dockerfile or one compose service."""

    origin: str
    repository: str
    context: Path
    dockerfile: Path
    services: tuple[str, ...] = ()
    target: str | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def identity(self) -> tuple[object, ...]:
        """What makes two requests the same build."""
        return (
            self.context,
            self.dockerfile,
            self.target,
            tuple(sorted(self.args.items())),
            tuple(sorted(self.labels.items())),
        )


@dataclass(frozen=True)
class ImageBuild:
    """One `docker build` and every reference its image gets.

    `tags` are set by the build itself; `pinned_tags` (the version) are added afterwards,
    only where they do not move to another image ID (or with --force).
    """

    origins: tuple[str, ...]
    services: tuple[str, ...]
    context: Path
    dockerfile: Path
    target: str | None
    args: Mapping[str, str]
    labels: Mapping[str, str]
    tags: tuple[str, ...]
    pinned_tags: tuple[str, ...]

    @property
    def reference(self) -> str:
        """The image's main reference: what a deploy of this checkout runs."""
        return (*self.tags, *self.pinned_tags)[0]

    @property
    def name(self) -> str:
        """The first service that runs it, else its image name."""
        return self.services[0] if self.services else repository_of(self.reference)

    @property
    def base_image(self) -> str | None:
        """The BASE_IMAGE build arg it gets (the image it is expected to build FROM)."""
        return self.args.get(BASE_IMAGE_ARG)


@dataclass(frozen=True)
class BuildPlan:
    """The builds of one checkout, the tags they share, and notes on what is not built."""

    builds: tuple[ImageBuild, ...]
    scheme: TagScheme
    revision: Revision
    version: str | None
    notes: tuple[str, ...] = ()

    @property
    def references(self) -> list[str]:
        """One reference per image (what `inv scan` should scan)."""
        return [b.reference for b in self.builds]

    def select(self, service: str | None) -> list[ImageBuild]:
        """All builds, or the one a service (or image name) names; one line when unknown."""
        if service is None:
            return list(self.builds)
        chosen = [b for b in self.builds if service in b.services or service == b.name]
        if not chosen:
            names = sorted({n for b in self.builds for n in (*b.services, b.name)})
            raise InvalidInputError(
                f"--service {service!r}: no image is built for it",
                hint="choose from: " + ", ".join(names),
            )
        return chosen


def repository_of(reference: str) -> str:
    """`acme/app` from `acme/app:1.0` (a registry port is not a tag)."""
    match = IMAGE_REFERENCE.fullmatch(validate_image(reference))
    return match.group("name") if match else reference


def group_builds(sources: Sequence[BuildSource], scheme: TagScheme) -> list[ImageBuild]:
    """One build per distinct (context, Dockerfile, target, args); refuse one image name
    built two ways."""
    owners: dict[str, BuildSource] = {}
    for source in sources:
        first = owners.setdefault(source.repository, source)
        if first.identity() != source.identity():
            raise ConfigError(
                f"image {source.repository} is built two different ways: by {first.origin} "
                f"and by {source.origin}",
                hint="give one of them its own image name, or make both builds the same",
            )
    groups: dict[tuple[object, ...], list[BuildSource]] = {}
    for source in sources:
        groups.setdefault(source.identity(), []).append(source)
    builds = []
    for members in groups.values():
        first = members[0]
        repositories = _unique(m.repository for m in members)
        builds.append(
            ImageBuild(
                origins=_unique(m.origin for m in members),
                services=_unique(s for m in members for s in m.services),
                context=first.context,
                dockerfile=first.dockerfile,
                target=first.target,
                args=dict(first.args),
                labels=dict(first.labels),
                tags=tuple(f"{r}:{t}" for r in repositories for t in scheme.movable),
                pinned_tags=tuple(f"{r}:{t}" for r in repositories for t in scheme.pinned),
            )
        )
    return builds


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def common_args(project: Project) -> dict[str, str]:
    """BASE_IMAGE, then `[tool.conveyor.docker] build-args`; validated."""
    docker = project.settings.docker
    args = {BASE_IMAGE_ARG: validate_image(docker.base_image)}
    for key, value in docker.build_args.items():
        validate_build_arg(key, value)
        args[key] = value
    return args


def configured_source(
    project: Project, args: Mapping[str, str], services: Sequence[str]
) -> BuildSource | None:
    """The `[tool.conveyor.docker]` Dockerfile; None when it is the default path and absent."""
    docker = project.settings.docker
    dockerfile = project.root / docker.dockerfile
    if not dockerfile.is_file():
        if docker.configured_dockerfile is None:
            return None
        raise ConfigError(
            f"{dockerfile}: Dockerfile not found ({CONFIGURED} dockerfile)",
            hint="create it or point dockerfile at an existing file",
        )
    return BuildSource(
        origin=CONFIGURED,
        repository=validate_repository(docker.image),
        context=project.root / docker.context,
        dockerfile=dockerfile,
        services=tuple(services),
        args=dict(args),
    )


def compose_source(
    section: BuildSection,
    rendered_image: str | None,
    project_name: str,
    args: Mapping[str, str],
) -> BuildSource:
    """The build of one compose service; its image name from `image:`, else the overlay's."""
    where = f"compose service {section.service}"
    unbuildable = sorted(UNBUILDABLE_KEYS.intersection(section.other_keys))
    if unbuildable:
        raise ConfigError(
            f"{where}: build.{unbuildable[0]} needs BuildKit, which this engine's classic "
            "builder lacks",
            hint="write it as a Dockerfile with a context on disk, or build it outside Conveyor",
        )
    if is_remote_context(section.context):
        raise ConfigError(
            f"{where}: remote build context {section.context} is not supported",
            hint="check the sources out into the project and point context at them",
        )
    dockerfile = Path(section.dockerfile)
    if not dockerfile.is_file():
        raise ConfigError(
            f"{where}: Dockerfile not found: {dockerfile}",
            hint="fix build.context / build.dockerfile in the compose file",
        )
    merged = dict(args)
    for key, value in section.args.items():
        merged[key] = validate_passed_build_arg(key, value)[1]
    repository = (
        repository_of(rendered_image)
        if rendered_image
        else service_repository(project_name, section.service)
    )
    return BuildSource(
        origin=where,
        repository=repository,
        context=Path(section.context),
        dockerfile=dockerfile,
        services=(section.service,),
        target=section.target,
        args=merged,
        labels=dict(section.labels),
    )


def compose_target(project: Project, env: str | None, tag: str) -> Target | None:
    """The compose project to read build sections from; None when there is none to read
    (the default compose file is absent and none is configured)."""
    settings = project.settings.deploy
    explicit = settings.configured_compose_files is not None or env is not None
    if not explicit and not any((project.root / f).is_file() for f in settings.compose_files):
        return None
    return resolve_target(project, env, tag)


def compose_notes(
    sections: Mapping[str, BuildSection], images: Mapping[str, str | None], tag: str, variable: str
) -> list[str]:
    """What the builds will not do as Compose would: keys not passed, images not following
    the deploy's tag variable."""
    notes = []
    for name, section in sorted(sections.items()):
        ignored = [k for k in section.other_keys if k not in UNBUILDABLE_KEYS]
        if ignored:
            notes.append(
                f"compose service {name}: build.{', build.'.join(ignored)} not passed to "
                "docker build (Conveyor passes context, dockerfile, target, args, labels)"
            )
        image = images.get(name)
        if image and not image.endswith(f":{tag}"):
            notes.append(
                f"compose service {name} runs {image}, which does not follow ${{{variable}}}: "
                f"a deploy with --tag will not switch it; write image: "
                f"{repository_of(image)}:${{{variable}:-latest}}"
            )
    return notes


def own_output(project: Project) -> tuple[str, ...]:
    """What Conveyor itself writes into the tree (deploy state, image overlays, reports)."""
    return (project.settings.deploy.state_dir, project.settings.reports_dir)


def planned_builds(
    project: Project,
    *,
    env: str | None = None,
    build_args: Mapping[str, str] | None = None,
    runner: Runner = DEFAULT_RUNNER,
) -> BuildPlan:
    """Every image `inv build` makes for this checkout (`build_args`: from the command line).

    Runs `git` and `compose config` (to resolve the compose files), never a build.
    """
    revision = git_revision(project.root, runner, own_output=own_output(project))
    version = project_version(project.root)
    docker = project.settings.docker
    scheme = tag_scheme(revision, version if docker.tag_version else None, latest=docker.tag_latest)
    base_args = common_args(project)
    cli_args = dict(build_args or {})
    sources: list[BuildSource] = []
    notes: list[str] = []
    target = compose_target(project, env, scheme.primary)
    served: list[str] = []
    if target is not None:
        text = Compose(target.compose, runner=runner).render()
        sections = parse_build_sections(text, target.compose.files[0].parent)
        images = {name: spec.image for name, spec in parse_config(text).items()}
        base_name = project_slug(target.settings.project or project.name)
        for name in sorted(sections):
            sources.append(compose_source(sections[name], images[name], base_name, base_args))
        notes += compose_notes(sections, images, scheme.primary, target.settings.tag_variable)
        configured = project.settings.docker.image
        served = [
            name
            for name, image in sorted(images.items())
            if name not in sections and image and repository_of(image) == configured
        ]
    configured_build = configured_source(project, base_args, served)
    if configured_build is not None:
        sources.insert(0, configured_build)
    if not sources:
        raise ConfigError(
            f"nothing to build: no {project.settings.docker.dockerfile} and no compose service "
            "with a build: section",
            hint=f"set {CONFIGURED} dockerfile, or [tool.conveyor.deploy] compose-files",
        )
    sources = [replace(s, args={**s.args, **cli_args}) for s in sources]
    builds = group_builds(sources, scheme)
    return BuildPlan(tuple(builds), scheme, revision, version, tuple(notes))


def built_images(project: Project, env: str | None = None) -> list[str]:
    """The image references `inv build` makes for this checkout, one per image: the list
    `inv scan` scans."""
    return planned_builds(project, env=env).references
