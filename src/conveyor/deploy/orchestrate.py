"""A deploy with a health gate: lock, record, bring up, wait, smoke-test, or roll everything back.

Order matters: everything that can be checked without changing the target (environment,
compose files, smoke URLs, images, daemon, free ports) is checked before the first
`compose up`; from then on any failure, including SIGINT/SIGTERM, restores the previous
release and waits for it to be healthy before exiting non-zero.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from conveyor.deploy.health import HealthReport, Progress, wait_healthy
from conveyor.deploy.ledger import Ledger, Release, running_images
from conveyor.deploy.lock import DeployLock
from conveyor.deploy.rollback import (
    PIN_FILE,
    Interrupted,
    pinned_images,
    signals_as_errors,
    write_pin_file,
)
from conveyor.deploy.smoke import SmokeResult, run_smoke_tests, smoke_url
from conveyor.deploy.target import Target
from conveyor.errors import ConfigError, ConveyorError, GateFailedError, InvalidInputError
from conveyor.runner import Runner
from conveyor.tools.compose import (
    Compose,
    ContainerState,
    ServiceSpec,
    port_conflict,
    services_publishing,
)

UP_GRACE_SECONDS = 120.0


class StepFailed(Exception):
    """A gate step failed after the target was changed (triggers the rollback)."""

    def __init__(self, summary: str, details: str = "") -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = details


@dataclass
class DeployResult:
    """What a deploy (or rollback) did, for the report."""

    ok: bool
    release: Release | None = None
    failure: str = ""
    details: str = ""
    restored: Release | None = None
    restore_health: HealthReport | None = None
    running: list[ContainerState] = field(default_factory=list)
    smoke: list[SmokeResult] = field(default_factory=list)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def engine_is_local(target: Target) -> bool:
    """True when published ports land on this machine (no remote DOCKER_HOST or context)."""
    host = os.environ.get("DOCKER_HOST", "")
    return target.compose.context is None and (not host or host.startswith("unix://"))


def git_sha(runner: Runner, root: str) -> str | None:
    """The commit being deployed: GITHUB_SHA in Actions, else `git rev-parse HEAD`."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        done = runner.run(["git", "rev-parse", "HEAD"], cwd=root, ok_codes=(0, 128), timeout=10)
    except ConveyorError:
        return None
    return done.stdout.strip() or None


def busy_ports(specs: Mapping[str, ServiceSpec], own: Sequence[ContainerState]) -> list[str]:
    """`port 8080 (service app)` for each published port something else already holds."""
    held_by_us = {p for c in own for p in c.host_ports}
    busy: list[str] = []
    for spec in specs.values():
        for port in spec.ports:
            if port.published in held_by_us or port.protocol != "tcp":
                continue
            family = socket.AF_INET6 if ":" in port.host_ip else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                try:
                    probe.bind((port.host_ip or "0.0.0.0", port.published))  # noqa: S104  # nosec B104 - a bind probe for a free port, closed at once
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        busy.append(f"port {port.published} (service {spec.name})")
    return busy


class Deployer:
    """Deploys, rolls back and lists the releases of one target."""

    def __init__(
        self,
        target: Target,
        *,
        root: str,
        compose: Compose | None = None,
        runner: Runner | None = None,
        console: Console | None = None,
        lock_wait: float | None = None,
        health_timeout: float | None = None,
    ) -> None:
        self.target = target
        self.root = root
        self.runner = runner or Runner()
        self.compose = compose or Compose(target.compose, runner=self.runner)
        self.console = console or Console(file=sys.stderr)
        self.lock_wait = target.settings.lock_wait if lock_wait is None else lock_wait
        self.timeout = target.settings.health_timeout if health_timeout is None else health_timeout
        self.ledger = Ledger(
            target.state_dir, env=target.env or "default", project=target.compose.project
        )

    # -- checks that change nothing -------------------------------------------------------

    def check_confirmation(self, yes: bool) -> None:
        if self.target.needs_confirmation and not (yes or in_ci()):
            raise InvalidInputError(
                f"deploying to {self.target.env} needs confirmation",
                hint="pass --yes (CI runs, with CI set, are confirmed already)",
            )

    def smoke_urls(self) -> list[str]:
        env = self.target.environment
        return [
            smoke_url(env.scheme, env.host, env.port, t.path) for t in self.target.settings.smoke
        ]

    def preflight(self, compose: Compose) -> dict[str, ServiceSpec]:
        """Validate everything a deploy needs; raise before anything changes."""
        self.smoke_urls()
        specs = compose.config()
        compose.ping()
        for spec in specs.values():
            if spec.image and compose.image_id(spec.image) is None:
                raise ConfigError(
                    f"image {spec.image} of service {spec.name} is not on the Docker engine",
                    hint="build it first (inv build), or check --tag",
                )
        return specs

    # -- the deploy ---------------------------------------------------------------------

    def deploy(self, *, yes: bool = False, to_release: int | None = None) -> DeployResult:
        """Bring up the configured release (or a recorded one); roll back on any failure."""
        self.check_confirmation(yes)
        compose = self.compose
        if to_release is not None:
            pinned = self.ledger.get(to_release)
            compose = self._pinned(pinned)
        specs = self.preflight(compose)
        with DeployLock(
            self.target.state_dir / "deploy.lock", wait=self.lock_wait, what=self.target.label
        ) as lock:
            if lock.stale is not None:
                self.console.print(
                    f"note: took over a stale deploy lock ({lock.stale.describe()}; "
                    "that process is gone)"
                )
            return self._deploy_locked(compose, specs, to_release)

    def _pinned(self, release: Release) -> Compose:
        """The target with every service pinned to `release`'s images."""
        pins = pinned_images(self.compose, release.services)
        path = write_pin_file(self.target.state_dir / PIN_FILE.format(id=release.id), pins)
        return Compose(
            self.target.compose.with_files(path), runner=self.runner, command=self.compose.command
        )

    def _deploy_locked(
        self, compose: Compose, specs: dict[str, ServiceSpec], to_release: int | None
    ) -> DeployResult:
        before = self.compose.containers()
        live = running_images(before)
        previous = self.ledger.live(live) if live else None
        if live and previous is None:
            previous = self.ledger.record(
                live, outcome="observed", git_sha=None, note="running before this deploy"
            )
        if engine_is_local(self.target):
            busy = busy_ports(specs, before)
            if busy:
                raise GateFailedError(
                    f"cannot deploy to {self.target.label}: {', '.join(busy)} already in use "
                    "on this host",
                    hint="free the port or publish another one; nothing was changed",
                )
        baseline = {c.id: c.restart_count for c in before}
        services = list(specs)
        smoke: list[SmokeResult] = []
        with signals_as_errors() as guard:
            try:
                guard.armed = True
                self._up(compose, services, specs)
                report = self._wait(compose, services, baseline)
                if not report.healthy:
                    raise StepFailed(report.summary(), report.details())
                smoke = self._smoke()
                guard.armed = False
            except (StepFailed, Interrupted) as exc:
                guard.armed = False
                failure = exc.summary if isinstance(exc, StepFailed) else str(exc)
                details = exc.details if isinstance(exc, StepFailed) else ""
                return self._roll_back(failure, details, previous, specs, smoke)
        now = compose.containers()
        note = f"rollback to release {to_release}" if to_release is not None else ""
        release = self.ledger.record(
            running_images(now),
            outcome="rolled-back" if to_release is not None else "deployed",
            git_sha=git_sha(self.runner, self.root),
            note=note,
        )
        return DeployResult(ok=True, release=release, running=now, smoke=smoke)

    def _wait(
        self, compose: Compose, services: Sequence[str], baseline: dict[str, int]
    ) -> HealthReport:
        with Progress(self.console) as progress:
            return wait_healthy(
                compose,
                services,
                timeout=self.timeout,
                log_lines=self.target.settings.log_lines,
                progress=progress,
                baseline=baseline,
            )

    def rollback_candidate(self) -> Release:
        """The newest good release before the live one that runs different images."""
        live = self.ledger.live(running_images(self.compose.containers()))
        for release in reversed(self.ledger.releases()):
            if live is not None and (release.id >= live.id or release.same_images(live.services)):
                continue
            if release.outcome != "failed":
                return release
        raise ConfigError(
            f"no earlier release of {self.target.label} to roll back to",
            hint="list the ledger with `inv releases`, or pick one with --to",
        )

    def _up(
        self, compose: Compose, services: Sequence[str], specs: Mapping[str, ServiceSpec]
    ) -> None:
        try:
            compose.up(services, timeout=self.timeout + UP_GRACE_SECONDS)
        except ConveyorError as exc:
            port = port_conflict(exc.hint)
            if port is not None:
                owners = ", ".join(services_publishing(specs, port)) or "?"
                raise StepFailed(
                    f"port {port} (service {owners}) is already in use", exc.hint
                ) from None
            raise StepFailed(f"compose up failed: {exc.message}", exc.hint) from None

    def _smoke(self) -> list[SmokeResult]:
        env = self.target.environment
        results = run_smoke_tests(
            self.target.settings.smoke, scheme=env.scheme, host=env.host, port=env.port
        )
        failed = [r for r in results if not r.passed]
        if failed:
            raise StepFailed(
                "smoke test failed: " + "; ".join(r.describe() for r in failed),
                "\n".join(r.describe() for r in results),
            )
        return results

    def _roll_back(
        self,
        failure: str,
        details: str,
        previous: Release | None,
        specs: Mapping[str, ServiceSpec],
        smoke: list[SmokeResult],
    ) -> DeployResult:
        """Restore `previous` (or remove the failed first release) and wait for health."""
        attempted = running_images(self.compose.containers())
        if attempted:
            self.ledger.record(
                attempted,
                outcome="failed",
                git_sha=git_sha(self.runner, self.root),
                note=failure[:300],
            )
        self.console.print(f"[red]deploy failed:[/] {failure}")
        if details:
            self.console.print(details, markup=False, highlight=False)
        if previous is None:
            self.console.print("no previous release: removing the failed one")
            self.compose.down()
            return DeployResult(ok=False, failure=failure, details=details, smoke=smoke)
        self.console.print(f"rolling back to release {previous.id} ...")
        restore = self._pinned(previous)
        extra = [s for s in specs if s not in previous.services]
        restore.remove(extra)
        back = [s for s in previous.services if s in specs]
        with signals_as_errors() as guard:  # a second signal must not cut the rollback short
            restore.up(back, timeout=self.timeout + UP_GRACE_SECONDS)
            report = self._wait(restore, back, {})
        if guard.pending:
            self.console.print(
                f"note: {guard.pending} arrived during the rollback; it finished first"
            )
        return DeployResult(
            ok=False,
            failure=failure,
            details=details,
            restored=previous,
            restore_health=report,
            running=self.compose.containers(),
            smoke=smoke,
        )


def running_table(containers: Sequence[ContainerState], title: str) -> Table:
    """Service, image and state of what runs now."""
    table = Table(title=title, title_justify="left")
    for column in ("service", "image", "state"):
        table.add_column(column)
    for c in sorted(containers, key=lambda c: c.service):
        state = c.status + (f" ({c.health})" if c.health else "")
        table.add_row(c.service, c.image, state)
    return table


def releases_table(releases: Sequence[Release], live: Release | None) -> Table:
    """The ledger, newest first, with the live release marked."""
    table = Table(title="releases", title_justify="left")
    for column in ("id", "when (UTC)", "by", "git", "outcome", "images", "note"):
        table.add_column(column)
    for r in reversed(releases):
        images = ", ".join(f"{k}={v.image}" for k, v in sorted(r.services.items()))
        mark = " (live)" if live is not None and r.id == live.id else ""
        table.add_row(
            f"{r.id}{mark}",
            r.created_at,
            r.by,
            (r.git_sha or "")[:12],
            r.outcome,
            images,
            r.note,
        )
    return table
