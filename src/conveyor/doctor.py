"""`conveyor doctor`: every prerequisite, present, missing or stale, each with its fix.

What is *required* follows the project's configuration: its Pythons always, Docker and Trivy when
it builds an image, Compose when it has compose files, the Trivy DB when updates are off.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conveyor import interpreters
from conveyor.adopt import conflicts
from conveyor.adopt.sources import ProjectFiles
from conveyor.config import SUPPORTED_PYTHONS, Project
from conveyor.errors import ConveyorError
from conveyor.policy.advisories import STALE_DATA_HINT, AdvisoryData, judge_data
from conveyor.policy.freshness import judge
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.tools import safety
from conveyor.tools.discovery import GITLEAKS, TRIVY, ToolSpec, discover, parse_version
from conveyor.tools.uv import locked_version


class Status(str, Enum):
    """How a prerequisite looks."""

    PRESENT = "present"
    MISSING = "missing"
    STALE = "stale"
    ACCEPTED = "stale, accepted"  # old data the configuration accepts with a reason


@dataclass(frozen=True)
class Check:
    """One row of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str
    required: bool

    @property
    def failed(self) -> bool:
        """A required prerequisite that is missing or stale (and not accepted)."""
        return self.required and self.status in (Status.MISSING, Status.STALE)


def _version_of(argv: Sequence[str], runner: Runner) -> str | None:
    try:
        done = runner.run(argv, timeout=60, ok_codes=(0,))
    except ConveyorError:
        return None
    return parse_version(done.stdout + done.stderr)


def check_pythons(versions: Sequence[str], wanted: set[str]) -> list[Check]:
    """Each version where the sessions will find it (PATH, pyenv, uv, the system), or the
    command that installs it: the same search and the same fix the sessions print."""
    found = interpreters.discover(versions)
    home = str(Path.home())
    checks = []
    for version in versions:
        name, required = f"python{version}", version in wanted
        interpreter = found.for_version(version)
        if interpreter is not None:
            checks.append(Check(name, Status.PRESENT, interpreter.describe(home), "", required))
        else:
            fix = interpreters.install_hint(version).replace("`", "")
            checks.append(Check(name, Status.MISSING, "not installed", fix, required))
    return checks


def check_program(
    name: str, argv: Sequence[str], fix: str, *, required: bool, runner: Runner = DEFAULT_RUNNER
) -> Check:
    """A program on PATH that answers its version command."""
    path = shutil.which(name)
    found = _version_of([path, *argv], runner) if path else None
    if path and found:
        return Check(name, Status.PRESENT, f"{found} at {path}", "", required)
    return Check(name, Status.MISSING, "not on PATH" if not path else "no version", fix, required)


def check_tool(
    spec: ToolSpec, configured: str | None, *, required: bool, runner: Runner = DEFAULT_RUNNER
) -> Check:
    """An adapter's program through the shared discovery (configured path, PATH, minimum)."""
    try:
        found = discover(spec, configured, runner)
    except ConveyorError as exc:
        return Check(spec.name, Status.MISSING, exc.message, spec.install, required)
    return Check(spec.name, Status.PRESENT, f"{found.version} at {found.path}", "", required)


def check_docker_engine(*, required: bool, runner: Runner = DEFAULT_RUNNER) -> Check:
    """The Docker client and an engine that answers it."""
    fix = "apt-get install docker.io and start the engine (systemctl start docker, or dockerd &)"
    docker = shutil.which("docker")
    if docker is None:
        return Check("docker engine", Status.MISSING, "no docker client on PATH", fix, required)
    try:
        done = runner.run(
            [docker, "info", "--format", "{{.ServerVersion}}"], timeout=30, tool="docker"
        )
    except ConveyorError as exc:
        return Check(
            "docker engine", Status.MISSING, f"no engine answers: {exc.message}", fix, required
        )
    return Check("docker engine", Status.PRESENT, f"engine {done.stdout.strip()}", "", required)


def check_compose(*, required: bool, runner: Runner = DEFAULT_RUNNER) -> Check:
    """Compose v2 (`docker compose`) or v1 (`docker-compose`)."""
    docker = shutil.which("docker")
    if docker:
        found = _version_of([docker, "compose", "version"], runner)
        if found:
            return Check("compose", Status.PRESENT, f"v2 plugin {found}", "", required)
    legacy = shutil.which("docker-compose")
    found = _version_of([legacy, "version"], runner) if legacy else None
    if legacy and found:
        return Check("compose", Status.PRESENT, f"docker-compose {found} at {legacy}", "", required)
    return Check(
        "compose",
        Status.MISSING,
        "neither docker compose nor docker-compose",
        compose_fix(has_apt=shutil.which("apt-get") is not None),
        required,
    )


COMPOSE_V2 = "https://docs.docker.com/compose/install/linux/"


def compose_fix(*, has_apt: bool) -> str:
    """What installs Compose here: Debian ships v1 as `docker-compose`; the v2 plugin
    (`docker-compose-plugin`) comes only from Docker's own apt repository."""
    if has_apt:
        return (
            "apt-get install docker-compose (Compose v1, in Debian/Ubuntu); for v2 add Docker's "
            f"apt repository, then apt-get install docker-compose-plugin ({COMPOSE_V2})"
        )
    return f"install Compose v2 ({COMPOSE_V2}) or docker-compose v1 from your distribution"


def trivy_cache_dir(project: Project) -> Path:
    """Where trivy keeps its DB: the configured dir, $TRIVY_CACHE_DIR, else ~/.cache/trivy."""
    configured = project.settings.scan.trivy_cache_dir or os.environ.get("TRIVY_CACHE_DIR")
    if configured:
        return (project.root / configured).expanduser()
    return Path.home() / ".cache" / "trivy"


def _parse_time(text: str) -> datetime:
    head = text.rstrip("Z").split(".")[0]
    return datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def check_trivy_db(project: Project, now: datetime | None = None) -> Check:
    """The vulnerability DB's age against max-db-age; required only when trivy may not
    download it."""
    scan = project.settings.scan
    required = scan.vuln and not scan.trivy_db_update
    metadata = trivy_cache_dir(project) / "db" / "metadata.json"
    fix = "trivy image --download-db-only (online), or copy a DB into the cache directory"
    if not metadata.is_file():
        return Check("trivy DB", Status.MISSING, f"no {metadata}", fix, required)
    try:
        updated = _parse_time(json.loads(metadata.read_text(encoding="utf-8"))["UpdatedAt"])
    except (ValueError, KeyError):
        return Check("trivy DB", Status.MISSING, f"{metadata}: unreadable", fix, required)
    freshness = judge(updated, scan.max_db_age, now)
    status = Status.STALE if freshness.stale else Status.PRESENT
    return Check(
        "trivy DB",
        status,
        freshness.describe(),
        f"{fix}; or raise [tool.conveyor.scan] max-db-age" if freshness.stale else "",
        required,
    )


def _data_check(data: AdvisoryData) -> Check:
    detail = data.line.removeprefix("advisory data: ")
    if data.blocking:
        return Check("safety DB", Status.STALE, detail, STALE_DATA_HINT, True)
    status = Status.ACCEPTED if data.accepted_because else Status.PRESENT
    return Check("safety DB", status, detail, "", True)


def check_safety_db(project: Project, now: datetime | None = None) -> Check:
    """safety's advisory data, when the project configures offline data: its date and age."""
    settings = project.settings.security
    configured = settings.safety_db
    if configured is None:
        return Check(
            "safety DB",
            Status.PRESENT,
            "online (no offline DB configured; safety does not report the data's date)",
            "",
            False,
        )
    if configured == safety.SAFETY_DB_PACKAGE:
        version = locked_version(project.root / "uv.lock", safety.SAFETY_DB_PACKAGE)
        if version is None:
            return Check(
                "safety DB",
                Status.MISSING,
                "safety-db is not in uv.lock",
                "uv add --group safety safety-db",
                True,
            )
        released = safety.package_release_date(version)
        freshness = judge(released, settings.max_data_age, now)
        source = f"safety-db {version} (locked; release date)"
        return _data_check(judge_data(source, freshness, settings.accept_stale_data))
    path = project.root / configured
    if not (path / "insecure_full.json").is_file():
        return Check(
            "safety DB",
            Status.MISSING,
            f"no {path / 'insecure_full.json'}",
            "download the safety DB into it",
            True,
        )
    freshness = judge(safety.published_at(path), settings.max_data_age, now)
    return _data_check(
        judge_data(f"offline DB {configured}", freshness, settings.accept_stale_data)
    )


def diagnose(project: Project, runner: Runner = DEFAULT_RUNNER) -> list[Check]:
    """Every check, required as the project's configuration says."""
    settings = project.settings
    builds_image = (project.root / settings.docker.dockerfile).is_file()
    composes = any((project.root / f).is_file() for f in settings.deploy.compose_files)
    wanted = {*project.pythons, project.tools_python}
    checks = check_pythons(list(dict.fromkeys([*SUPPORTED_PYTHONS, *sorted(wanted)])), wanted)
    checks.append(
        check_program(
            "uv",
            ["--version"],
            "pip install uv (or see docs.astral.sh/uv)",
            required=True,
            runner=runner,
        )
    )
    checks.append(
        check_program(
            "nox",
            ["--version"],
            "uv sync (the nox group), or uv tool install nox",
            required=True,
            runner=runner,
        )
    )
    checks.append(check_docker_engine(required=builds_image or composes, runner=runner))
    checks.append(check_compose(required=composes, runner=runner))
    checks.append(check_tool(TRIVY, settings.scan.trivy, required=builds_image, runner=runner))
    checks.append(
        check_tool(
            GITLEAKS,
            settings.scan.gitleaks,
            required=builds_image or composes or hooks_run_gitleaks(project.root),
            runner=runner,
        )
    )
    checks.append(check_trivy_db(project))
    checks.append(check_safety_db(project))
    checks.append(check_safety_conflicts(project, runner))
    return checks


def hooks_run_gitleaks(root: Path) -> bool:
    """True when the project's pre-commit config has a gitleaks hook (it then needs gitleaks)."""
    config = root / ".pre-commit-config.yaml"
    try:
        return "gitleaks" in config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def check_safety_conflicts(project: Project, runner: Runner = DEFAULT_RUNNER) -> Check:
    """Every group and extra that resolves packaging>=22 is declared apart from the safety
    group (a group added since `conveyor init` makes `uv lock` fail, or holds it back)."""
    files = ProjectFiles.read(project.root)
    name = "safety conflicts"
    if conflicts.SAFETY_GROUP not in files.groups:
        return Check(name, Status.PRESENT, "no safety group", "", False)
    python = project.pythons[0]
    needed = [v for v in conflicts.safety_conflicts(files, python, runner) if v.apart]
    declared = conflicts.declared_conflicts(files.pyproject)
    missing = [v for v in needed if v.item not in declared]
    if not missing:
        return Check(name, Status.PRESENT, f"{len(needed)} group(s)/extra(s) kept apart", "", True)
    detail = "; ".join(f"{v.item.kind} {v.item.name}: {v.reason}" for v in missing)
    pairs = ", ".join(f'[{{ group = "safety" }}, {v.item.as_toml()}]' for v in missing)
    fix = f"add to [tool.uv] conflicts in pyproject.toml: {pairs}; then uv lock"
    # One the lock does not know yet breaks `uv lock`; a locked one is only held back.
    locked = conflicts.locked_items(project.root / "uv.lock", project.name)
    breaks = any(v.item not in locked for v in missing)
    return Check(name, Status.STALE, f"not apart from safety: {detail}", fix, breaks)


def exit_code(checks: Sequence[Check]) -> int:
    """1 when something the configured pipeline needs is missing or stale, else 0."""
    return 1 if any(c.failed for c in checks) else 0


def rows(checks: Sequence[Check]) -> list[list[str]]:
    """Table rows: check, status, required, detail, fix."""
    return [
        [c.name, c.status.value, "yes" if c.required else "no", c.detail, c.fix] for c in checks
    ]


HEADERS = ["check", "status", "required", "detail", "fix"]


def print_table(checks: Sequence[Check]) -> None:
    """A rich table on stdout (plain text when not a terminal)."""
    table = Table(title="conveyor doctor")
    for header in HEADERS:
        table.add_column(header, overflow="fold")
    styles = {
        Status.PRESENT: "green",
        Status.MISSING: "red",
        Status.STALE: "yellow",
        Status.ACCEPTED: "yellow",
    }
    for check, row in zip(checks, rows(checks)):
        style = styles[check.status] if check.required or check.status is Status.PRESENT else "dim"
        table.add_row(*(escape(cell) for cell in row), style=style)  # `[tool.uv]` is text
    Console(file=sys.stdout, width=160).print(table)
