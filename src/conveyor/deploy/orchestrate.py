"""A deploy with a health gate: lock, record, bring up, wait, smoke-test, or roll everything back.

Order matters: everything that can be checked without changing the target (environment,
compose files, smoke URLs, images, daemon, free ports) is checked before the first
`compose up`; from then on any failure, including SIGINT/SIGTERM, restores the previous
release and waits for it to be healthy before exiting non-zero. Compose and docker run in
their own session, so a Ctrl-C in the terminal reaches only this process, which decides:
a signal during `compose up` lets it finish and then rolls back, one during the health
wait or smoke tests rolls back at once, and one during the rollback is noted, not obeyed.

A release is restored from the compose configuration recorded with it, so services the
failed release added are removed and services it dropped come back; a release recorded
without one (observed before its first Conveyor deploy) is restored with today's compose
files and its recorded images.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from conveyor.ci import in_ci
from conveyor.deploy.health import HealthReport, Progress, wait_healthy
from conveyor.deploy.ledger import Ledger, Release, running_images
from conveyor.deploy.lock import DeployLock
from conveyor.deploy.rollback import (
    Interrupted,
    pinned_images,
    signals_as_errors,
    write_pin_file,
    write_snapshot,
)
from conveyor.deploy.smoke import SmokeResult, run_smoke_tests, smoke_url
from conveyor.deploy.target import Target
from conveyor.errors import ConfigError, ConveyorError, GateFailedError, InvalidInputError
from conveyor.reports.console import output_console
from conveyor.runner import Runner
from conveyor.tools.compose import (
    Compose,
    ComposeTarget,
    ContainerState,
    ServiceSpec,
    parse_config,
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
                    # A bind probe for a free port, closed at once (bandit B104).
                    probe.bind((port.host_ip or "0.0.0.0", port.published))  # noqa: S104  # nosec B104
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
        self.compose = compose or Compose(target.compose, runner=self.runner, new_session=True)
        self.console = console or output_console(stderr=True)
        self.lock_wait = target.settings.lock_wait if lock_wait is None else lock_wait
        self.timeout = target.settings.health_timeout if health_timeout is None else health_timeout
        self.ledger = Ledger(
            self.compose, env=target.env or "default", project=target.compose.project
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

    def preflight(self, compose: Compose) -> tuple[dict[str, ServiceSpec], str]:
        """Validate everything a deploy needs; raise before anything changes.

        Returns the services and the resolved configuration (recorded with the release).
        """
        self.smoke_urls()
        rendered = compose.render()
        specs = parse_config(rendered)
        compose.ping()
        for spec in specs.values():
            if spec.image and compose.image_id(spec.image) is None:
                raise ConfigError(
                    f"image {spec.image} of service {spec.name} is not on the Docker engine",
                    hint="build it first (inv build), or check --tag",
                )
        return specs, rendered

    def lock(self, specs: Mapping[str, ServiceSpec]) -> DeployLock:
        """The target's deploy lock, made from an image this deploy has checked is there."""
        image = next((s.image for s in specs.values() if s.image), None)
        if image is None:
            raise ConfigError(
                f"{self.target.label}: no service names an image",
                hint="give each service an `image:` (Conveyor deploys built images)",
            )
        return DeployLock(
            self.compose,
            self.target.compose.project,
            image=image,
            wait=self.lock_wait,
            max_age=self.target.settings.lock_max_age,
            what=self.target.label,
        )

    # -- the deploy ---------------------------------------------------------------------

    def deploy(self, *, yes: bool = False, to_release: int | None = None) -> DeployResult:
        """Bring up the configured release (or a recorded one); roll back on any failure."""
        self.check_confirmation(yes)
        compose = self.compose
        if to_release is not None:
            self.compose.ping()  # the ledger is on the engine: say so if it is unreachable
            compose = self._pinned(self.ledger.get(to_release))
        specs, rendered = self.preflight(compose)
        with self.lock(specs) as lock:
            if lock.stale is not None:
                self.console.print(
                    f"note: took over a stale deploy lock ({lock.stale.describe()}; "
                    f"{lock.stale_why})"
                )
            elif lock.stale_why:
                self.console.print(f"note: took over a deploy lock ({lock.stale_why})")
            return self._deploy_locked(compose, specs, rendered, to_release)

    def _pinned(self, release: Release) -> Compose:
        """The target as `release` ran it: its recorded configuration (when it has one),
        every service pinned to its recorded images."""
        scratch = self.target.state_dir / f"release-{release.id}"
        pin = write_pin_file(scratch / "pin.yaml", pinned_images(self.compose, release.services))
        base = self.target.compose
        if release.config is None:
            return self.compose.on(base.with_files(pin))
        snapshot = write_snapshot(scratch / "compose.yaml", release.config)
        return self.compose.on(
            ComposeTarget(files=(snapshot, pin), project=base.project, context=base.context)
        )

    def _deploy_locked(
        self,
        compose: Compose,
        specs: dict[str, ServiceSpec],
        rendered: str,
        to_release: int | None,
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
                # `compose up` is never cut short (half-applied, or a Compose v2 plugin left
                # running beside the rollback): a signal now lets it finish, then rolls back.
                self._up(compose, services, specs)
                if guard.pending:
                    raise Interrupted(guard.pending)
                guard.armed = True
                report = self._wait(compose, services, baseline)
                if not report.healthy:
                    raise StepFailed(report.summary(), report.details())
                smoke = self._smoke()
                guard.armed = False
            except (StepFailed, Interrupted) as exc:
                guard.armed = False
                failure = exc.summary if isinstance(exc, StepFailed) else str(exc)
                details = exc.details if isinstance(exc, StepFailed) else ""
                return self._roll_back(
                    failure, details, previous, specs=specs, rendered=rendered, smoke=smoke
                )
        now = compose.containers()
        note = f"rollback to release {to_release}" if to_release is not None else ""
        release = self.ledger.record(
            running_images(now),
            outcome="rolled-back" if to_release is not None else "deployed",
            git_sha=git_sha(self.runner, self.root),
            note=note,
            config=rendered,
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
        *,
        specs: Mapping[str, ServiceSpec],
        rendered: str,
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
                config=rendered,
            )
        self.console.print(f"[red]deploy failed:[/] {failure}")
        if details:
            self.console.print(details, markup=False, highlight=False)
        if previous is None:
            self.console.print("no previous release: removing the failed one")
            self.compose.down()
            return DeployResult(ok=False, failure=failure, details=details, smoke=smoke)
        self.console.print(f"rolling back to release {previous.id} ...")
        with signals_as_errors() as guard:  # a second signal must not cut the rollback short
            restore = self._pinned(previous)
            if previous.config is not None:  # its own services: `--remove-orphans` drops others
                back = list(parse_config(previous.config))
                restore.up(timeout=self.timeout + UP_GRACE_SECONDS)
            else:
                restore.remove([s for s in specs if s not in previous.services])
                back = [s for s in previous.services if s in specs]
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
