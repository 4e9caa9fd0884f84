"""`[tool.conveyor]` in pyproject.toml -> typed, validated settings.

Every section is a frozen msgspec Struct that refuses unknown keys, so a typo stops the run
with one line naming the file, the key and what is allowed, before any session or task runs.
Conveyor validates with msgspec because every nox run imports this module: pydantic's import
and schema building cost about 0.1 s of each run's start-up.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Callable, Literal, Optional, Union, get_args, get_origin

import msgspec
from msgspec import Meta, Struct, field
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conveyor import shapes
from conveyor.errors import ConfigError
from conveyor.shapes import ANY_KEY, UNKNOWN_KEY, Step
from conveyor.validate import host_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

SUPPORTED_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
PREFERRED_TOOLS_PYTHON = "3.12"
PYTHON_VERSION = re.compile(r"3\.[0-9]{1,2}")
"""A `python` / `tools-python` entry: any 3.X the machine may have (found or named missing)."""
PYPROJECT = "pyproject.toml"
_CLASSIFIER = re.compile(r"^Programming Language :: Python :: (3\.\d+)$")


def _not_an_option(value: str) -> None:
    """Values that reach a command line never start with '-' (they would be read as options)."""
    if value.startswith("-"):
        raise ValueError(f"{value!r} starts with '-' and would be read as an option")


def _inside_project(value: str) -> None:
    """Project paths stay under the project root: relative, no '..', no '~'."""
    paths = (PurePosixPath(value), PureWindowsPath(value))
    if value.startswith("~") or any(p.is_absolute() or p.anchor for p in paths):
        raise ValueError(f"{value!r} is absolute; use a path relative to the project root")
    if any(".." in p.parts for p in paths):
        raise ValueError(f"{value!r} leaves the project ('..'); use a path inside it")


# Functions in an Annotated type are checks Section.__post_init__ runs on each value.
Arg = Annotated[str, Meta(min_length=1), _not_an_option]
"""A value passed to a program as one argument (a group name, a test id)."""
ProjectPath = Annotated[str, Meta(min_length=1), _not_an_option, _inside_project]
"""A path inside the project, relative to its root (sources, reports, state)."""
Port = Annotated[int, Meta(ge=1, le=65535)]
Days = Annotated[int, Meta(ge=1)]
Percent = Annotated[float, Meta(ge=0, le=100)]
Seconds = Annotated[float, Meta(gt=0)]
Duration = Annotated[float, Meta(ge=0, le=3600)]  # seconds, zero allowed, at most an hour


def _invalid(key: str, problem: str) -> ValueError:
    """A problem found in __post_init__: msgspec reports it at the table, so it names the key."""
    return ValueError(f"key `{key}`: {problem}")


class Section(Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    """Base of every table: kebab-case keys, unknown keys refused, immutable; read strictly
    (settings_from_table): TOML already has types, so `"no"` is not False, `"2"` is not 2.
    Here: no float is inf or nan, and each value passes the checks its Annotated type names."""

    def __post_init__(self) -> None:
        for info in _fields(type(self)):
            value = getattr(self, info.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise _invalid(info.encode_name, f"{value} is not a finite number")
            many, checks = _value_checks(info.type)
            if value is None or not checks:
                continue
            named = (
                [(f"{info.encode_name}[{i}]", v) for i, v in enumerate(value)]
                if many
                else [(info.encode_name, value)]
            )
            for key, item in named:
                for check in checks:
                    try:
                        check(item)
                    except ValueError as exc:
                        raise _invalid(key, str(exc)) from None


class Reason(Section, frozen=True):
    """An exception to a policy must say why (and may say until when)."""

    reason: Annotated[str, Meta(min_length=3)]


class LicenseSettings(Section, frozen=True):
    """pip-licenses policy: denied license families, per-package overrides with a reason."""

    deny: list[str] = field(default_factory=lambda: ["GPL", "AGPL", "SSPL", "LGPL-3.0-only"])
    allow: dict[str, Reason] = field(default_factory=dict)  # canonical package name -> reason
    groups: list[Arg] = field(default_factory=list)  # groups checked besides the runtime deps


class SecuritySettings(Section, frozen=True):
    """bandit targets, safety database location, and ignored advisories with reasons."""

    bandit_targets: list[ProjectPath] = field(default_factory=list)  # default: `src`
    bandit_skips: list[Arg] = field(default_factory=list)  # bandit test ids, e.g. B101
    # Offline DB: a directory with insecure.json + insecure_full.json (relative to the project),
    # or "safety-db" for the data of the safety-db package in the safety group. Unset: online.
    safety_db: Optional[ProjectPath] = None
    safety: Optional[str] = None  # a safety executable to use instead of the safety group's
    # Keys: a safety vulnerability id or CVE, a bandit test id, or `B602:path/to/file.py`.
    ignore: dict[str, Reason] = field(default_factory=dict)
    # A bandit finding fails the gate at this severity and confidence or above (like the
    # scan gate's fail-on); lower ones are listed as below the threshold.
    bandit_severity: Literal["LOW", "MEDIUM", "HIGH"] = "MEDIUM"
    bandit_confidence: Literal["LOW", "MEDIUM", "HIGH"] = "MEDIUM"
    # Advisory data older than this many days fails the session, unless accepted with a reason.
    max_data_age: Days = 45
    accept_stale_data: Optional[Reason] = None


DEFAULT_DOCKERFILE = "docker/Dockerfile"


class DockerSettings(Section, frozen=True):
    """What `inv build` builds besides compose `build:` sections, and the base image."""

    image: str = "app"
    # Unset: DEFAULT_DOCKERFILE, which may be absent (a Dockerfile that is set must exist).
    configured_dockerfile: Optional[str] = field(default=None, name="dockerfile")
    context: str = "."
    base_image: str = "conveyor/base:bookworm"
    base_packages: list[str] = field(default_factory=lambda: ["python3", "ca-certificates"])
    base_suite: str = "bookworm"
    base_mirror: Optional[str] = None
    extra_ca_certificates: Optional[str] = None
    tag_latest: bool = False
    # false: no `:<version>` tag (an application whose [project] version names no release).
    tag_version: bool = True
    build_args: dict[str, str] = field(default_factory=dict)
    # Build-arg names whose values are masked in every printed line, wherever they come from
    # (build-args, compose `args`, --build-arg); credential-looking values are masked anyway.
    secret_build_args: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    docker: Optional[str] = None

    @property
    def dockerfile(self) -> str:
        """The Dockerfile `inv build` builds, relative to the project root."""
        return (
            DEFAULT_DOCKERFILE if self.configured_dockerfile is None else self.configured_dockerfile
        )


Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
Scanner = Literal["image", "fs", "config", "secrets"]


class ScanSettings(Section, frozen=True):
    """Trivy/Gitleaks scan settings and the one severity gate."""

    fail_on: Annotated[list[Severity], Meta(min_length=1)] = field(
        default_factory=lambda: ["CRITICAL", "HIGH"]
    )
    allowlist: ProjectPath = ".conveyor-allow.toml"
    trivy: Optional[str] = None
    gitleaks: Optional[str] = None
    trivy_cache_dir: Optional[str] = None
    trivy_db_update: bool = True
    scanners: Annotated[list[Scanner], Meta(min_length=1)] = field(
        default_factory=lambda: ["image", "fs", "config", "secrets"]
    )
    vuln: bool = True
    max_db_age: Days = 7  # days; an older vulnerability DB fails the gate
    config_dir: ProjectPath = "."  # trivy config: every Dockerfile and IaC file in the project
    image: Optional[str] = None
    jobs: Annotated[int, Meta(ge=1, le=16)] = 2
    skip_dirs: list[ProjectPath] = field(
        default_factory=lambda: [
            ".git",
            ".venv",
            "venv",
            ".nox",
            ".tox",
            "node_modules",
            ".mypy_cache",
            ".ruff_cache",
            ".pytest_cache",
            "dist",
            "build",
            "htmlcov",
        ]
    )


EngineName = Literal["compose", "swarm"]
"""Where an environment runs: one Docker host through Compose, or a Swarm stack."""


class SwarmSettings(Section, frozen=True):
    """`[tool.conveyor.deploy.swarm]`: the rolling update Conveyor asks of Swarm.

    These fill the `deploy:` keys a compose file leaves unset; a compose file's own
    `update_config`, `rollback_config`, `endpoint_mode` or port `mode` wins, key by key.
    """

    # Seconds Swarm watches each updated task before it counts as good (update_config and
    # rollback_config `monitor`); a task that fails within it makes Swarm roll back.
    monitor: Duration = 10.0
    parallelism: Annotated[int, Meta(ge=0)] = 1  # tasks updated at once (0: all at once)
    # How compose's published ports are published: Swarm's routing mesh, or on the node that
    # runs the task (no mesh; a service with such a port is updated stop-first).
    publish_mode: Literal["ingress", "host"] = "ingress"
    # How services find each other: a virtual IP, or DNS round robin (kernels without IPVS).
    endpoint_mode: Literal["vip", "dnsrr"] = "vip"


class SmokeTest(Section, frozen=True):
    """One HTTP check after a deploy: a path on the configured host, the status expected.

    It is retried until `deadline` seconds have passed (a service without a healthcheck may
    still be starting); on failure the logs of `services` are shown (default: the services
    publishing the environment's port and every service the deploy changed).
    """

    path: str = "/health"
    status: Annotated[int, Meta(ge=100, le=599)] = 200
    timeout: Seconds = 5.0
    deadline: Seconds = 30.0
    services: list[str] = field(default_factory=list)


BindMountPolicy = Literal["warn", "refuse"]
StrategyName = Literal["in-place", "blue-green"]
"""How a release replaces another: in place (a short gap), or beside it behind a proxy."""
SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
PROXY_RESERVED_PORTS = (8405,)
"""Ports the proxy image uses itself (its own health frontend)."""


class ProxiedService(Section, frozen=True):
    """A service behind the blue-green proxy.

    `port` is where the service listens inside its containers; `listen` and `preview` are
    ports inside the proxy's container: live traffic, and the candidate colour that smoke
    tests reach before it takes any (the compose file publishes both on the proxy).
    """

    port: Port
    listen: Port = 8080
    preview: Port = 9080


class BlueGreenSettings(Section, frozen=True):
    """`[tool.conveyor.deploy.blue-green]`: the proxy service, drain time, proxied services."""

    proxy: Annotated[str, Meta(pattern=f"^{SERVICE_NAME.pattern}$")] = "proxy"
    # Seconds the old colour may take to finish in-flight requests once it gets no new ones;
    # it is stopped as soon as it has none.
    drain: Duration = 10.0
    services: dict[str, ProxiedService] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [name for name in self.services if not SERVICE_NAME.fullmatch(name)]
        if bad:
            raise _invalid("services", f"{bad[0]!r} is not a compose service name")
        seen: dict[int, str] = {}
        for name, service in self.services.items():
            for kind, port in (("listen", service.listen), ("preview", service.preview)):
                where = f"{name}.{kind}"
                if port in PROXY_RESERVED_PORTS:
                    raise _invalid("services", f"{where} = {port} is the proxy's own health port")
                if port in seen:
                    raise _invalid(
                        "services", f"{where} = {port} is also {seen[port]}; use distinct ports"
                    )
                seen[port] = where


class EnvironmentSettings(Section, frozen=True):
    """One deploy target: compose overlay, env file, host for smoke tests."""

    compose_files: list[str] = field(default_factory=list)
    env_file: Optional[str] = None
    project: Optional[str] = None
    host: str = "127.0.0.1"
    port: Optional[Port] = None
    scheme: Literal["http", "https"] = "http"
    confirm: bool = False
    context: Optional[Arg] = None
    bind_mounts: Optional[BindMountPolicy] = None  # default: [tool.conveyor.deploy] bind-mounts
    # "swarm": the same compose files deployed as a stack to the swarm manager that
    # DOCKER_HOST or `context` reaches, updated by Swarm under [tool.conveyor.deploy.swarm].
    engine: EngineName = "compose"
    strategy: Optional[StrategyName] = None  # default: [tool.conveyor.deploy] strategy

    def __post_init__(self) -> None:
        super().__post_init__()
        problem = host_problem(self.host)
        if problem:
            raise _invalid("host", problem)
        if self.engine == "swarm" and self.strategy == "blue-green":
            raise _invalid(
                "strategy",
                '"blue-green" is for compose targets; Swarm replaces tasks start-first behind '
                'its own routing mesh: remove it (engine = "swarm")',
            )


DEFAULT_COMPOSE_FILES = ("docker/compose.yaml",)


class DeploySettings(Section, frozen=True):
    """Compose health checks and deploys (filled by the deploy work)."""

    # Unset: DEFAULT_COMPOSE_FILES, which may be absent (compose files that are set must exist).
    configured_compose_files: Optional[list[str]] = field(default=None, name="compose-files")
    project: Optional[str] = None
    health_timeout: Seconds = 120.0
    # A service without a healthcheck counts as healthy once it has run this long unrestarted.
    stability_window: Annotated[float, Meta(ge=0)] = 10.0
    lock_wait: Annotated[float, Meta(ge=0)] = 0.0
    # The deploy lock's lease: renewed every third of it while a deploy runs; a holder that
    # stopped renewing (a killed CI runner) blocks others at most this long.
    lock_max_age: Annotated[float, Meta(ge=5)] = 120.0
    # Services that bind-mount files of the project (`./:/code`) run the host's files whatever
    # the image, so an image rollback cannot roll them back: warn, or refuse to deploy.
    bind_mounts: BindMountPolicy = "warn"
    log_lines: Annotated[int, Meta(ge=0)] = 50
    smoke: list[SmokeTest] = field(default_factory=list)
    environments: dict[str, EnvironmentSettings] = field(default_factory=dict)
    state_dir: ProjectPath = ".conveyor"
    env_file: Optional[str] = None
    tag_variable: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "APP_TAG"
    swarm: SwarmSettings = field(default_factory=SwarmSettings)
    # For environments that do not choose: "in-place" recreates changed services where they
    # stand; "blue-green" starts them beside the live ones behind [blue-green]'s proxy.
    strategy: StrategyName = "in-place"
    blue_green: BlueGreenSettings = field(default_factory=BlueGreenSettings)

    @property
    def compose_files(self) -> list[str]:
        """The compose files of every environment, relative to the project root."""
        if self.configured_compose_files is None:
            return list(DEFAULT_COMPOSE_FILES)
        return self.configured_compose_files


class Settings(Section, frozen=True):
    """The whole `[tool.conveyor]` table."""

    src: list[ProjectPath] = field(default_factory=lambda: ["src"])
    tests: list[ProjectPath] = field(default_factory=lambda: ["tests"])
    python: Optional[list[str]] = None
    tools_python: Optional[str] = None
    # Thresholds for `coverage`: on the data of every suite (unit + integration), and on the
    # unit suites' data alone (a run without integration). Unset: the project's own
    # [tool.coverage.report] fail_under decides.
    coverage_fail_under: Optional[Percent] = None
    coverage_fail_under_unit: Optional[Percent] = None
    reports_dir: ProjectPath = "reports"
    integration_marker: str = "docker"
    env: dict[str, str] = field(default_factory=dict)  # set in every session's environment
    # What the project already has, detected from its files when unset (see conveyor.adopt):
    test_runner: Optional[Literal["pytest", "unittest"]] = None
    test_groups: Optional[list[Arg]] = None  # dependency groups the test sessions install
    test_extras: Optional[list[Arg]] = None  # extras of the project the test sessions install
    type_checker: Optional[Literal["mypy", "pyright", "basedpyright", "ty"]] = None
    licenses: LicenseSettings = field(default_factory=LicenseSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    docker: DockerSettings = field(default_factory=DockerSettings)
    scan: ScanSettings = field(default_factory=ScanSettings)
    deploy: DeploySettings = field(default_factory=DeploySettings)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.python is not None:
            if not self.python:
                raise _invalid("python", "must list at least one version")
            unknown = [v for v in self.python if not PYTHON_VERSION.fullmatch(v)]
            if unknown:
                raise _invalid("python", f"{unknown} are not Python versions; write them as '3.12'")
        if self.tools_python is not None and not PYTHON_VERSION.fullmatch(self.tools_python):
            raise _invalid(
                "tools-python", f"{self.tools_python!r} is not a Python version; write it as '3.12'"
            )


class Project(Struct, frozen=True):
    """A consuming project: where it lives, its metadata and its Conveyor settings."""

    root: Path
    name: str
    requires_python: Optional[str]
    settings: Settings
    classifier_pythons: tuple[str, ...] = ()  # `Programming Language :: Python :: 3.X`

    @property
    def pythons(self) -> list[str]:
        """Configured versions, else the declared ones (classifiers, else every known version)
        that `requires-python` admits."""
        if self.settings.python is not None:
            return list(self.settings.python)
        return pythons_for(self.requires_python, self.classifier_pythons)

    @property
    def tools_python(self) -> str:
        """The one modern Python the tool sessions run on: 3.12 when the project admits it
        (every machine of this kind has it), else its newest version."""
        if self.settings.tools_python:
            return self.settings.tools_python
        pythons = self.pythons
        return PREFERRED_TOOLS_PYTHON if PREFERRED_TOOLS_PYTHON in pythons else pythons[-1]

    @property
    def reports(self) -> Path:
        """The reports directory (absolute)."""
        return self.root / self.settings.reports_dir


def pythons_for(requires_python: str | None, declared: Sequence[str] = ()) -> list[str]:
    """The `declared` versions (default: every known one) a `requires-python` admits."""
    versions = list(declared) or list(SUPPORTED_PYTHONS)
    if not requires_python:
        return versions
    spec = SpecifierSet(requires_python)
    return [v for v in versions if spec.contains(f"{v}.0") or spec.contains(f"{v}.99")]


def classifier_versions(project_table: dict[str, Any]) -> tuple[str, ...]:
    """`3.X` of each `Programming Language :: Python :: 3.X` classifier, oldest first."""
    classifiers = project_table.get("classifiers", [])
    found = {
        m.group(1)
        for c in (classifiers if isinstance(classifiers, list) else [])
        if (m := _CLASSIFIER.match(str(c)))
    }
    return tuple(sorted(found, key=lambda v: tuple(map(int, v.split(".")))))


@functools.cache
def _fields(section: type[Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    return msgspec.structs.fields(section)


def _without_none(annotation: Any) -> Any:
    """X from Optional[X]."""
    if get_origin(annotation) is Union:
        (annotation,) = (a for a in get_args(annotation) if a is not type(None))
    return annotation


def _unwrap(annotation: Any) -> Any:
    """The type under Optional[...] and Annotated[...]."""
    annotation = _without_none(annotation)
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _value_checks(annotation: Any) -> tuple[bool, list[Callable[[str], None]]]:
    """Whether a field holds a list, and the checks (functions in the Annotated type of its
    values) each of its values must pass."""
    annotation = _without_none(annotation)
    many = get_origin(_unwrap(annotation)) is list
    if many:
        (annotation,) = get_args(_unwrap(annotation))
    return many, [m for m in getattr(annotation, "__metadata__", ()) if callable(m)]


_INVALID = re.compile(r"key `(?P<key>[^`]+)`: (?P<problem>.*)", re.DOTALL)  # see `_invalid`


def error_steps(message: str) -> tuple[list[Step], str]:
    """(steps to the key, what is wrong with it) from a msgspec ValidationError message; a
    __post_init__ problem (`_invalid`) names its key in the message."""
    steps, problem = shapes.error_steps(message)
    invalid = _INVALID.fullmatch(problem)
    if invalid:
        return [*steps, *shapes.path_steps("." + invalid["key"])], invalid["problem"]
    return steps, problem


def describe_location(steps: Sequence[Step]) -> tuple[str, str]:
    """('[tool.conveyor.deploy]', 'smoke[0].path') from the steps to a value.

    Nested tables go into the table name; from the first list index on, the rest is the key.
    """
    first_index = next((i for i, s in enumerate(steps) if isinstance(s, int)), len(steps))
    split = max(first_index - 1, 0) if first_index < len(steps) else max(len(steps) - 1, 0)
    table = ["tool", "conveyor", *(str(s) for s in steps[:split])]
    key = ""
    for step in steps[split:]:
        key += f"[{step}]" if isinstance(step, int) else (f".{step}" if key else step)
    return "[" + ".".join(table) + "]", key


def _type_at(model: Any, steps: Sequence[Step]) -> Any:
    """The type of the value `steps` lead to, from `model` down."""
    for step in steps:
        model = _unwrap(model)
        if isinstance(model, type) and issubclass(model, Struct):
            model = next(f.type for f in _fields(model) if f.encode_name == step)
        else:  # an entry of a list or a dict
            model = get_args(model)[-1]
    return _unwrap(model)


def _locate(value: Any, model: Any, error: msgspec.ValidationError) -> tuple[list[Step], str]:
    """`error_steps` with the key of each dict entry on the way: msgspec writes them as
    '[...]', so the first entry that fails on its own is the one."""
    steps, problem = error_steps(str(error))
    if ANY_KEY not in steps:
        return steps, problem
    at = steps.index(ANY_KEY)
    entries = value
    for step in steps[:at]:
        entries = entries[step]
    entry_model = get_args(_type_at(model, steps[:at]))[-1]
    for key, entry in entries.items():  # one fails: the same check as within the whole
        try:
            msgspec.convert(entry, entry_model, strict=True)
        except msgspec.ValidationError as entry_error:
            inner, problem = _locate(entry, entry_model, entry_error)
            steps = [*steps[:at], key, *inner]
            break
    return steps, problem


def _explain(steps: Sequence[Step], problem: str) -> tuple[str, str]:
    """(what is wrong, in TOML's words, and how to fix it) for the value at `steps`."""
    if problem == UNKNOWN_KEY:
        allowed = sorted(f.encode_name for f in _fields(_type_at(Settings, steps[:-1])))
        spelling = str(steps[-1]).replace("_", "-")
        if spelling in allowed:
            problem += f" (write it as {spelling!r})"
        return problem, "allowed keys: " + ", ".join(allowed)
    expected = _type_at(Settings, steps)
    if get_origin(expected) is Literal:
        *choices, last = (repr(c) for c in get_args(expected))
        problem += f"; expected {', '.join(choices)} or {last}"
    # TOML has tables, not objects, and no null (an absent key is the default).
    return problem.replace(" | null`", "`").replace("`object`", "`table`"), ""


def settings_from_table(table: dict[str, Any], path: Path) -> Settings:
    """Validate a `[tool.conveyor]` mapping; raise ConfigError naming file, table and key."""
    try:
        return msgspec.convert(table, Settings, strict=True)
    except msgspec.ValidationError as error:
        steps, problem = _locate(table, Settings, error)
    where, key = describe_location(steps)
    what, hint = _explain(steps, problem)
    raise ConfigError(f"{path}: {where} key {key!r}: {what}", hint=hint)


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    """The table at dotted `name` when it is one (absent: empty); otherwise one line naming it."""
    value = data.get(name.rpartition(".")[2], {})
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path}: [{name}] must be a table, not {type(value).__name__}",
            hint=f"write it as a [{name}] table",
        )
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file; bad encoding and bad syntax are one line naming the file."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
            hint="TOML files are UTF-8: re-save it as UTF-8",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="fix the syntax") from None


def _project_string(table: dict[str, Any], key: str, path: Path) -> str | None:
    """A string key of [project] (absent: None); any other type is one line naming it."""
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(
            f"{path}: [project] key {key!r}: must be a string, not {type(value).__name__}",
            hint=f'e.g. {key} = "{">=3.9" if key == "requires-python" else "my-project"}"',
        )
    return value


def load_project(root: str | Path | None = None) -> Project:
    """Read `pyproject.toml` under `root` (default: cwd); an absent table gives defaults."""
    base = Path(root or Path.cwd()).resolve()
    path = base / PYPROJECT
    if not path.is_file():
        raise ConfigError(
            f"{path}: not found",
            hint="run Conveyor from the project root, or `conveyor init` to add a pyproject.toml",
        )
    data = _read_toml(path)
    project_table = _table(data, "project", path)
    conveyor_table = _table(_table(data, "tool", path), "tool.conveyor", path)  # each a table
    requires = _project_string(project_table, "requires-python", path)
    if requires is not None:
        try:
            SpecifierSet(requires)
        except InvalidSpecifier:
            raise ConfigError(
                f"{path}: [project] key 'requires-python': invalid specifier {requires!r}",
                hint="use a PEP 440 specifier such as '>=3.9'",
            ) from None
    settings = settings_from_table(conveyor_table, path)
    project = Project(
        root=base,
        name=_project_string(project_table, "name", path) or base.name,
        requires_python=requires,
        settings=settings,
        classifier_pythons=classifier_versions(project_table),
    )
    if not project.pythons:
        raise ConfigError(
            f"{path}: [project] key 'requires-python': {requires!r} admits none of "
            f"{list(SUPPORTED_PYTHONS)}",
            hint="widen requires-python or set [tool.conveyor] python = [...]",
        )
    return project
