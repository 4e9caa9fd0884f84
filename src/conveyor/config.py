"""`[tool.conveyor]` in pyproject.toml -> typed, validated settings.

Every section is a frozen pydantic model that forbids unknown keys, so a typo stops the run
with one line naming the file, the key and what is allowed, before any session or task runs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from conveyor.errors import ConfigError
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


def _kebab(name: str) -> str:
    return name.replace("_", "-")


def _not_an_option(value: str) -> str:
    """Values that reach a command line never start with '-' (they would be read as options)."""
    if value.startswith("-"):
        raise ValueError(f"{value!r} starts with '-' and would be read as an option")
    return value


def _inside_project(value: str) -> str:
    """Project paths stay under the project root: relative, no '..', no '~'."""
    paths = (PurePosixPath(value), PureWindowsPath(value))
    if value.startswith("~") or any(p.is_absolute() or p.anchor for p in paths):
        raise ValueError(f"{value!r} is absolute; use a path relative to the project root")
    if any(".." in p.parts for p in paths):
        raise ValueError(f"{value!r} leaves the project ('..'); use a path inside it")
    return value


Arg = Annotated[str, Field(min_length=1), AfterValidator(_not_an_option)]
"""A value passed to a program as one argument (a group name, a test id)."""
ProjectPath = Annotated[
    str, Field(min_length=1), AfterValidator(_not_an_option), AfterValidator(_inside_project)
]
"""A path inside the project, relative to its root (sources, reports, state)."""


class Section(BaseModel):
    """Base of every table: kebab-case keys, unknown keys rejected, immutable, and strict:
    TOML already has types, so `"no"` is not False, `"2"` is not 2, and inf/nan are refused."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=_kebab,
        populate_by_name=True,
        frozen=True,
        strict=True,
        allow_inf_nan=False,
    )


class Reason(Section):
    """An exception to a policy must say why (and may say until when)."""

    reason: str = Field(min_length=3)


class LicenseSettings(Section):
    """pip-licenses policy: denied license families, per-package overrides with a reason."""

    deny: list[str] = Field(
        default_factory=lambda: ["GPL", "AGPL", "SSPL", "LGPL-3.0-only"],
    )
    allow: dict[str, Reason] = Field(default_factory=dict)  # canonical package name -> reason
    groups: list[Arg] = Field(default_factory=list)  # groups checked besides the runtime deps


class SecuritySettings(Section):
    """bandit targets, safety database location, and ignored advisories with reasons."""

    bandit_targets: list[ProjectPath] = Field(default_factory=list)  # default: `src`
    bandit_skips: list[Arg] = Field(default_factory=list)  # bandit test ids, e.g. B101
    # Offline DB: a directory with insecure.json + insecure_full.json (relative to the project),
    # or "safety-db" for the data of the safety-db package in the safety group. Unset: online.
    safety_db: ProjectPath | None = None
    safety: str | None = None  # a safety executable to use instead of the safety group's
    # Keys: a safety vulnerability id or CVE, a bandit test id, or `B602:path/to/file.py`.
    ignore: dict[str, Reason] = Field(default_factory=dict)
    # A bandit finding fails the gate at this severity and confidence or above (like the
    # scan gate's fail-on); lower ones are listed as below the threshold.
    bandit_severity: Literal["LOW", "MEDIUM", "HIGH"] = "MEDIUM"
    bandit_confidence: Literal["LOW", "MEDIUM", "HIGH"] = "MEDIUM"
    # Advisory data older than this many days fails the session, unless accepted with a reason.
    max_data_age: int = Field(default=45, ge=1)
    accept_stale_data: Reason | None = None


class DockerSettings(Section):
    """What `inv build` builds besides compose `build:` sections, and the base image."""

    image: str = "app"
    dockerfile: str = "docker/Dockerfile"
    context: str = "."
    base_image: str = "conveyor/base:bookworm"
    base_packages: list[str] = Field(default_factory=lambda: ["python3", "ca-certificates"])
    base_suite: str = "bookworm"
    base_mirror: str | None = None
    extra_ca_certificates: str | None = None
    tag_latest: bool = False
    # false: no `:<version>` tag (an application whose [project] version names no release).
    tag_version: bool = True
    build_args: dict[str, str] = Field(default_factory=dict)
    # Build-arg names whose values are masked in every printed line, wherever they come from
    # (build-args, compose `args`, --build-arg); credential-looking values are masked anyway.
    secret_build_args: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)
    docker: str | None = None


class ScanSettings(Section):
    """Trivy/Gitleaks scan settings and the one severity gate."""

    fail_on: list[Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]] = Field(
        default_factory=lambda: ["CRITICAL", "HIGH"],  # type: ignore[arg-type]
        min_length=1,
    )
    allowlist: ProjectPath = ".conveyor-allow.toml"
    trivy: str | None = None
    gitleaks: str | None = None
    trivy_cache_dir: str | None = None
    trivy_db_update: bool = True
    scanners: list[Literal["image", "fs", "config", "secrets"]] = Field(
        default_factory=lambda: ["image", "fs", "config", "secrets"],  # type: ignore[arg-type]
        min_length=1,
    )
    vuln: bool = True
    max_db_age: int = Field(default=7, ge=1)  # days; an older vulnerability DB fails the gate
    config_dir: ProjectPath = "."  # trivy config: every Dockerfile and IaC file in the project
    image: str | None = None
    jobs: int = Field(default=2, ge=1, le=16)
    skip_dirs: list[ProjectPath] = Field(
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


class SwarmSettings(Section):
    """`[tool.conveyor.deploy.swarm]`: the rolling update Conveyor asks of Swarm.

    These fill the `deploy:` keys a compose file leaves unset; a compose file's own
    `update_config`, `rollback_config`, `endpoint_mode` or port `mode` wins, key by key.
    """

    # Seconds Swarm watches each updated task before it counts as good (update_config and
    # rollback_config `monitor`); a task that fails within it makes Swarm roll back.
    monitor: float = Field(default=10.0, ge=0, le=3600)
    parallelism: int = Field(default=1, ge=0)  # tasks updated at once (0: all at once)
    # How compose's published ports are published: Swarm's routing mesh, or on the node that
    # runs the task (no mesh; a service with such a port is updated stop-first).
    publish_mode: Literal["ingress", "host"] = "ingress"
    # How services find each other: a virtual IP, or DNS round robin (kernels without IPVS).
    endpoint_mode: Literal["vip", "dnsrr"] = "vip"


class SmokeTest(Section):
    """One HTTP check after a deploy: a path on the configured host, the status expected.

    It is retried until `deadline` seconds have passed (a service without a healthcheck may
    still be starting); on failure the logs of `services` are shown (default: the services
    publishing the environment's port and every service the deploy changed).
    """

    path: str = "/health"
    status: int = Field(default=200, ge=100, le=599)
    timeout: float = Field(default=5.0, gt=0)
    deadline: float = Field(default=30.0, gt=0)
    services: list[str] = Field(default_factory=list)


BindMountPolicy = Literal["warn", "refuse"]
StrategyName = Literal["in-place", "blue-green"]
"""How a release replaces another: in place (a short gap), or beside it behind a proxy."""
SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
PROXY_RESERVED_PORTS = (8405,)
"""Ports the proxy image uses itself (its own health frontend)."""


class ProxiedService(Section):
    """A service behind the blue-green proxy.

    `port` is where the service listens inside its containers; `listen` and `preview` are
    ports inside the proxy's container: live traffic, and the candidate colour that smoke
    tests reach before it takes any (the compose file publishes both on the proxy).
    """

    port: int = Field(ge=1, le=65535)
    listen: int = Field(default=8080, ge=1, le=65535)
    preview: int = Field(default=9080, ge=1, le=65535)


class BlueGreenSettings(Section):
    """`[tool.conveyor.deploy.blue-green]`: the proxy service, drain time, proxied services."""

    proxy: str = Field(default="proxy", pattern=SERVICE_NAME.pattern)
    # Seconds the old colour may take to finish in-flight requests once it gets no new ones;
    # it is stopped as soon as it has none.
    drain: float = Field(default=10.0, ge=0, le=3600)
    services: dict[str, ProxiedService] = Field(default_factory=dict)

    @field_validator("services")
    @classmethod
    def _distinct_ports(cls, value: dict[str, ProxiedService]) -> dict[str, ProxiedService]:
        bad = [name for name in value if not SERVICE_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a compose service name")
        seen: dict[int, str] = {}
        for name, service in value.items():
            for kind, port in (("listen", service.listen), ("preview", service.preview)):
                where = f"{name}.{kind}"
                if port in PROXY_RESERVED_PORTS:
                    raise ValueError(f"{where} = {port} is the proxy's own health port")
                if port in seen:
                    raise ValueError(f"{where} = {port} is also {seen[port]}; use distinct ports")
                seen[port] = where
        return value


class EnvironmentSettings(Section):
    """One deploy target: compose overlay, env file, host for smoke tests."""

    compose_files: list[str] = Field(default_factory=list)
    env_file: str | None = None
    project: str | None = None
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    scheme: Literal["http", "https"] = "http"
    confirm: bool = False
    context: Arg | None = None

    @field_validator("host")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        problem = host_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    bind_mounts: BindMountPolicy | None = None  # default: [tool.conveyor.deploy] bind-mounts
    # "swarm": the same compose files deployed as a stack to the swarm manager that
    # DOCKER_HOST or `context` reaches, updated by Swarm under [tool.conveyor.deploy.swarm].
    engine: EngineName = "compose"
    strategy: StrategyName | None = None  # default: [tool.conveyor.deploy] strategy


class DeploySettings(Section):
    """Compose health checks and deploys (filled by the deploy work)."""

    compose_files: list[str] = Field(default_factory=lambda: ["docker/compose.yaml"])
    project: str | None = None
    health_timeout: float = Field(default=120.0, gt=0)
    # A service without a healthcheck counts as healthy once it has run this long unrestarted.
    stability_window: float = Field(default=10.0, ge=0)
    lock_wait: float = Field(default=0.0, ge=0)
    # The deploy lock's lease: renewed every third of it while a deploy runs; a holder that
    # stopped renewing (a killed CI runner) blocks others at most this long.
    lock_max_age: float = Field(default=120.0, ge=5)
    # Services that bind-mount files of the project (`./:/code`) run the host's files whatever
    # the image, so an image rollback cannot roll them back: warn, or refuse to deploy.
    bind_mounts: BindMountPolicy = "warn"
    log_lines: int = Field(default=50, ge=0)
    smoke: list[SmokeTest] = Field(default_factory=list)
    environments: dict[str, EnvironmentSettings] = Field(default_factory=dict)
    state_dir: ProjectPath = ".conveyor"
    env_file: str | None = None
    tag_variable: str = Field(default="APP_TAG", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    swarm: SwarmSettings = Field(default_factory=SwarmSettings)
    # For environments that do not choose: "in-place" recreates changed services where they
    # stand; "blue-green" starts them beside the live ones behind [blue-green]'s proxy.
    strategy: StrategyName = "in-place"
    blue_green: BlueGreenSettings = Field(default_factory=BlueGreenSettings)


class Settings(Section):
    """The whole `[tool.conveyor]` table."""

    src: list[ProjectPath] = Field(default_factory=lambda: ["src"])
    tests: list[ProjectPath] = Field(default_factory=lambda: ["tests"])
    python: list[str] | None = None
    tools_python: str | None = None
    # Thresholds for `coverage`: on the data of every suite (unit + integration), and on the
    # unit suites' data alone (a run without integration). Unset: the project's own
    # [tool.coverage.report] fail_under decides.
    coverage_fail_under: float | None = Field(default=None, ge=0, le=100)
    coverage_fail_under_unit: float | None = Field(default=None, ge=0, le=100)
    reports_dir: ProjectPath = "reports"
    integration_marker: str = "docker"
    env: dict[str, str] = Field(default_factory=dict)  # set in every session's environment
    # What the project already has, detected from its files when unset (see conveyor.adopt):
    test_runner: Literal["pytest", "unittest"] | None = None
    test_groups: list[Arg] | None = None  # dependency groups the test sessions install
    test_extras: list[Arg] | None = None  # extras of the project the test sessions install
    type_checker: Literal["mypy", "pyright", "basedpyright", "ty"] | None = None
    licenses: LicenseSettings = Field(default_factory=LicenseSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    docker: DockerSettings = Field(default_factory=DockerSettings)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)

    @field_validator("python")
    @classmethod
    def _known_pythons(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("must list at least one version")
        unknown = [v for v in value if not PYTHON_VERSION.fullmatch(v)]
        if unknown:
            raise ValueError(f"{unknown} are not Python versions; write them as '3.12'")
        return value

    @field_validator("tools_python")
    @classmethod
    def _known_tools_python(cls, value: str | None) -> str | None:
        if value is not None and not PYTHON_VERSION.fullmatch(value):
            raise ValueError(f"{value!r} is not a Python version; write it as '3.12'")
        return value


class Project(BaseModel):
    """A consuming project: where it lives, its metadata and its Conveyor settings."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    root: Path
    name: str
    requires_python: str | None
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


def _describe_location(loc: tuple[int | str, ...]) -> tuple[str, str]:
    """('[tool.conveyor.deploy]', 'smoke[0].path') from a pydantic error location.

    Nested tables go into the table name; from the first list index on, the rest is the key.
    """
    parts = list(loc)
    first_index = next((i for i, p in enumerate(parts) if isinstance(p, int)), len(parts))
    split = max(first_index - 1, 0) if first_index < len(parts) else max(len(parts) - 1, 0)
    table = ["tool", "conveyor", *(str(p) for p in parts[:split])]
    key = ""
    for part in parts[split:]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return "[" + ".".join(table) + "]", key


def format_validation_error(path: Path, error: ValidationError) -> str:
    """One line per problem, each naming the file, the table, the key and what is allowed."""
    lines = []
    for item in error.errors():
        table, key = _describe_location(tuple(item["loc"]))
        what = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        what = what.removeprefix("Value error, ")
        lines.append(f"{path}: {table} key {key!r}: {what}")
    return "\n".join(lines)


def settings_from_table(table: dict[str, Any], path: Path) -> Settings:
    """Validate a `[tool.conveyor]` mapping; raise ConfigError naming file and key."""
    try:
        return Settings.model_validate(table)
    except ValidationError as exc:
        text = format_validation_error(path, exc)
        first, _, rest = text.partition("\n")
        allowed = _allowed_keys_hint(exc)
        raise ConfigError(first, hint="\n".join(filter(None, [rest, allowed]))) from None


def _allowed_keys_hint(error: ValidationError) -> str:
    for item in error.errors():
        if item["type"] == "extra_forbidden":
            model: type[BaseModel] = Settings
            for part in item["loc"][:-1]:
                field = model.model_fields.get(str(part).replace("-", "_"))
                annotation = getattr(field, "annotation", None)
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    model = annotation
                else:
                    return ""
            keys = sorted(_kebab(name) for name in model.model_fields)
            return "allowed keys: " + ", ".join(keys)
    return ""


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
