"""A deploy with a health gate: lock, record, apply, wait, smoke-test, or roll everything back.

Order matters: everything that can be checked without changing the target (environment,
compose files, smoke URLs, images, daemon, healthchecks, bind mounts, free ports) is checked
before the first change; from then on any failure, including SIGINT/SIGTERM, restores the
previous release and waits for it to be healthy before exiting non-zero. Compose and docker
run in their own session, so a Ctrl-C in the terminal reaches only this process, which
decides (see `conveyor.deploy.signals`).

Only what changed is touched: each service's fingerprint (configuration + image content) is
compared with the one its serving container carries, and only the changed services are
handed to the strategy (`conveyor.deploy.strategies`), which alone knows how a release
replaces another: it applies the plan, watches the release, says where smoke tests reach
it, and promotes it once it passed (for blue-green: the proxy switches to it only then).
A rollback is the same: the previous release is rendered from its recorded compose files,
planned against what serves, applied, watched and promoted.

A rollback that itself fails does not escape as an exception: the result says so
(`rollback_error`), what runs now, and the command to recover; the task exits 3.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conveyor.ci import in_ci
from conveyor.deploy.engine import engine_for
from conveyor.deploy.health import Gate, HealthReport, Progress
from conveyor.deploy.ledger import Ledger, Outcome, Release, ServiceImage, colours, running_images
from conveyor.deploy.lock import DeployLock
from conveyor.deploy.plan import ReleasePlan, compare
from conveyor.deploy.preflight import (
    bind_mount_findings,
    busy_ports,
    check_smoke_services,
    describe_bind,
    healthcheck_warnings,
    project_binds,
    without_healthcheck,
)
from conveyor.deploy.prepare import PreparedRelease, Preparer
from conveyor.deploy.scratch import Scratch
from conveyor.deploy.signals import Interrupted, SignalGuard, signals_as_errors
from conveyor.deploy.smoke import SmokeResult, run_smoke_tests, smoke_url
from conveyor.deploy.strategies import Strategy
from conveyor.deploy.target import Target
from conveyor.errors import ConfigError, ConveyorError, GateFailedError, InvalidInputError
from conveyor.reports.console import output_console
from conveyor.runner import Runner
from conveyor.tools.compose import Compose, ContainerState, port_conflict, services_publishing

UP_GRACE_SECONDS = 120.0
EXIT_ROLLBACK_FAILED = 3


class StepFailed(Exception):
    """A gate step failed after the target was changed (triggers the rollback)."""

    def __init__(self, summary: str, details: str = "") -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = details


class LockLost(Exception):
    """The deploy lock's lease could not be kept: another deploy may own the target now."""


@dataclass
class DeployResult:
    """What a deploy (or rollback, or `up`) did, for the report."""

    ok: bool
    release: Release | None = None
    failure: str = ""
    details: str = ""
    restored: Release | None = None
    restore_health: HealthReport | None = None
    health: HealthReport | None = None
    rollback_error: str = ""
    running: list[ContainerState] = field(default_factory=list)
    smoke: list[SmokeResult] = field(default_factory=list)
    plan: ReleasePlan | None = None
    warnings: list[str] = field(default_factory=list)
    interrupted: Interrupted | None = None
    recover: str = ""
    removed: bool = False

    @property
    def outcome(self) -> str:
        """One word for what the target ended up running."""
        if self.ok:
            return "live"
        if self.rollback_error:
            return "rollback-failed"
        if self.restored is not None:
            return "rolled-back"
        if self.removed:
            return "removed"
        return "unhealthy" if self.release is not None else "unchanged"

    @property
    def exit_code(self) -> int:
        """0 deployed; 1 failed, the previous release restored (or nothing changed); 3 the
        rollback failed; 128+N a signal arrived after the release went live."""
        if self.ok:
            return self.interrupted.exit_code if self.interrupted else 0
        return EXIT_ROLLBACK_FAILED if self.rollback_error else 1


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


class Deployer:
    """Deploys, rolls back, starts and lists the releases of one target."""

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
        strategy: Strategy | None = None,
    ) -> None:
        self.target = target
        self.root = root
        self.runner = runner or (compose.runner if compose is not None else Runner())
        self.compose = compose or Compose(target.compose, runner=self.runner, new_session=True)
        self.console = console or output_console(stderr=True)
        self.lock_wait = target.settings.lock_wait if lock_wait is None else lock_wait
        self.timeout = target.settings.health_timeout if health_timeout is None else health_timeout
        # The target's engine (what runs, the ledger, the lock) and how releases replace
        # each other there: Compose and in place, or a swarm stack (`conveyor.deploy.engine`).
        self.engine, default = engine_for(target, self.compose, self.runner, self._say)
        self.strategy: Strategy = strategy or default
        self.preparer = Preparer(self.compose, Path(root))
        self.ledger = Ledger(
            self.engine, env=target.env or "default", project=target.compose.project
        )

    # -- checks that change nothing -------------------------------------------------------

    def check_confirmation(self, yes: bool, action: str = "deploying to") -> None:
        if self.target.needs_confirmation and not (yes or in_ci()):
            raise InvalidInputError(
                f"{action} {self.target.env} needs confirmation",
                hint="pass --yes (CI runs, with CI set, are confirmed already)",
            )

    def smoke_urls(self) -> list[str]:
        env = self.target.environment
        return [
            smoke_url(env.scheme, env.host, env.port, t.path) for t in self.target.settings.smoke
        ]

    def static_checks(self, release: PreparedRelease) -> list[str]:
        """Warnings about what the gate cannot see; raise for what config refuses."""
        specs = release.config.services
        check_smoke_services(self.target.settings.smoke, specs)
        warnings = healthcheck_warnings(
            without_healthcheck(specs, release.facts), self.target.settings.stability_window
        )
        policy = self.target.environment.bind_mounts or self.target.settings.bind_mounts
        warnings += bind_mount_findings(
            project_binds(specs, Path(self.root)), Path(self.root), policy
        )
        warnings += self.strategy.preflight(release)
        for line in warnings:
            self._say(line, "warning:", "yellow")
        return warnings

    def check_ports(self, release: PreparedRelease, running: Sequence[ContainerState]) -> None:
        if not engine_is_local(self.target):
            return
        busy = busy_ports(release.config.services, running)
        if busy:
            raise GateFailedError(
                f"cannot deploy to {self.target.label}: {', '.join(busy)} already in use "
                "on this host",
                hint="free the port or publish another one; nothing was changed",
            )

    def plan(self, release: PreparedRelease, running: Sequence[ContainerState]) -> ReleasePlan:
        """What applying `release` changes, given what runs and serves now (printed)."""
        found = compare(
            release.config.services,
            release.image_ids,
            release.fingerprints,
            running,
            self.strategy.serving(running),
        )
        plan = ReleasePlan(
            specs=release.config.services,
            images=release.images,
            image_ids=release.image_ids,
            fingerprints=release.fingerprints,
            changes=found.changes,
            removals=found.removals,
            unchanged=found.unchanged,
            leftovers=found.leftovers,
        )
        self._say(f"plan ({self.strategy.name}): {plan.summary()}")
        return plan

    # -- the deploy ---------------------------------------------------------------------

    def deploy(self, *, yes: bool = False, to_release: int | None = None) -> DeployResult:
        """Bring up the configured release (or a recorded one); roll back on any failure."""
        self.check_confirmation(yes)
        self.smoke_urls()
        with signals_as_errors() as guard, self._scratch() as scratch:
            try:
                restoring = None
                if to_release is not None:
                    self.engine.ping()  # the ledger is on the engine: say so if unreachable
                    restoring = self.ledger.get(to_release)
                release = (
                    self.preparer.recorded(restoring, scratch)
                    if restoring is not None
                    else self.preparer.today(scratch)
                )
                warnings = self.static_checks(release)
                guard.check()
                with self._lock(release, guard) as lock:
                    self._note_takeover(lock)
                    result = self._deploy_locked(release, scratch, guard, lock)
            except Interrupted as exc:  # before anything changed
                return DeployResult(ok=False, failure=f"{exc} before anything changed")
            result.warnings = warnings + result.warnings
        if result.ok and guard.pending:  # the release is live; the signal is not dropped
            result.interrupted = Interrupted(guard.pending)
        return result

    def _deploy_locked(
        self, release: PreparedRelease, scratch: Scratch, guard: SignalGuard, lock: DeployLock
    ) -> DeployResult:
        before = self.engine.containers()
        previous = self._previous(before)
        self.check_ports(release, before)
        plan = self.plan(release, before)
        guard.check()
        baseline = {c.id: c.restart_count for c in before}
        smoke: list[SmokeResult] = []
        notes: list[str] = []
        try:
            # The strategy is never cut short (half-applied, or a Compose v2 plugin left
            # running beside the rollback): a signal now lets it finish, then rolls back.
            self._apply(release, plan)
            guard.check()
            self._keep(lock)
            guard.armed = True
            report = self._wait(release, baseline)
            if not report.healthy:
                raise StepFailed(report.summary(), report.details())
            self._keep(lock)
            smoke = self._smoke(release, plan)
            guard.armed = False
            guard.check()
            self._keep(lock)
            # Nor is the switch: a signal from here on is reported once the release is live.
            notes = self._promote(release, plan)
        except (StepFailed, Interrupted) as exc:
            guard.armed = False
            failure = exc.summary if isinstance(exc, StepFailed) else str(exc)
            details = exc.details if isinstance(exc, StepFailed) else ""
            return self._roll_back(
                failure, details, previous, release, scratch, smoke=smoke, plan=plan
            )
        except LockLost as exc:
            return self._lock_lost(str(exc), previous, plan)
        now = self.engine.containers()
        serving = self.strategy.serving(now)
        restoring = release.restoring
        recorded = self.ledger.record(
            running_images(serving),
            outcome="rolled-back" if restoring is not None else "deployed",
            git_sha=restoring.git_sha if restoring else git_sha(self.runner, self.root),
            note=f"rollback to release {restoring.id}" if restoring else "",
            source=release.source,
            restored_from=restoring.id if restoring else None,
            colours=colours(serving),
        )
        warnings = notes + (self._bind_notes(release) if restoring is not None else [])
        return DeployResult(
            ok=True, release=recorded, running=now, smoke=smoke, plan=plan, warnings=warnings
        )

    def _previous(self, running: list[ContainerState]) -> Release | None:
        """The release serving now (recorded as `observed` when Conveyor did not start it)."""
        live = running_images(self.strategy.serving(running))
        previous = self.ledger.live(live) if live else None
        if live and previous is None:
            previous = self.ledger.record(
                live, outcome="observed", git_sha=None, note="running before this deploy"
            )
        return previous

    def _apply(self, release: PreparedRelease, plan: ReleasePlan) -> None:
        try:
            self.strategy.apply(release, plan, timeout=self.timeout + UP_GRACE_SECONDS)
        except ConveyorError as exc:
            port = port_conflict(exc.hint)
            if port is not None:
                owners = ", ".join(services_publishing(plan.specs, port)) or "?"
                raise StepFailed(
                    f"port {port} (service {owners}) is already in use", exc.hint
                ) from None
            raise StepFailed(f"starting the release failed: {exc.message}", exc.hint) from None

    def _wait(self, release: PreparedRelease, baseline: Mapping[str, int]) -> HealthReport:
        settings = self.target.settings
        gate = Gate(self.timeout, settings.stability_window, settings.log_lines)
        with Progress(self.console) as progress:
            return self.strategy.wait(release, gate=gate, baseline=baseline, progress=progress)

    def _promote(self, release: PreparedRelease, plan: ReleasePlan) -> list[str]:
        """Hand the release the traffic (the strategy's switch); a refusal rolls back."""
        try:
            notes = self.strategy.promote(release, plan)
        except ConveyorError as exc:
            raise StepFailed(
                f"switching to the new release failed: {exc.message}", exc.hint
            ) from None
        for line in notes:
            self._say(self.runner.mask(line), "note:", "yellow")
        return notes

    def _smoke(self, release: PreparedRelease, plan: ReleasePlan) -> list[SmokeResult]:
        env = self.target.environment
        tests = self.target.settings.smoke

        def route(services: Sequence[str]) -> tuple[str, int | None]:
            try:
                endpoint = self.strategy.smoke_endpoint(release, plan, services)
            except ConveyorError as exc:
                raise StepFailed(
                    f"smoke tests cannot reach the release: {exc.message}", exc.hint
                ) from None
            if endpoint is None:
                return env.host, env.port
            return endpoint[0] or env.host, endpoint[1]

        results = run_smoke_tests(
            tests, scheme=env.scheme, host=env.host, port=env.port, route=route
        )
        failed = [r for r in results if not r.passed]
        if not failed:
            return results
        test = tests[len(results) - 1]
        front = services_publishing(plan.specs, env.port) if env.port else []
        behind = list(test.services) or [*front, *(s for s in plan.changed if s not in front)]
        lines = [r.describe() for r in results]
        lines += self._service_logs(behind, release)
        raise StepFailed("smoke test failed: " + failed[-1].describe(), "\n".join(lines))

    def _service_logs(self, services: Sequence[str], release: PreparedRelease) -> list[str]:
        """State and last log lines of `services`' containers (the ones behind a failure)."""
        lines: list[str] = []
        tail = self.target.settings.log_lines
        for c in self.engine.containers():
            if c.service not in services:
                continue
            if c.labels.get("io.conveyor.fingerprint") != release.fingerprints.get(c.service):
                continue
            lines.append(
                f"--- {c.service}: {c.status}, restarted {c.restart_count}x, "
                f"last exit code {c.exit_code}"
            )
            log = self.engine.container_logs(c.id, tail=tail) if tail else ""
            lines += [f"  last log lines of {c.service}:"] if log else []
            lines += ["    " + line for line in log.splitlines()]
        return lines

    def _keep(self, lock: DeployLock) -> None:
        if lock.lost:
            raise LockLost(lock.lost)

    # -- going back -----------------------------------------------------------------------

    def _roll_back(
        self,
        failure: str,
        details: str,
        previous: Release | None,
        failed: PreparedRelease,
        scratch: Scratch,
        *,
        smoke: list[SmokeResult],
        plan: ReleasePlan,
    ) -> DeployResult:
        """Restore `previous` (or remove the failed first release) and wait for health.

        The failed attempt is recorded first; when even that fails, the rollback still runs
        (what serves matters more than its history) and the report says what is missing.
        """
        attempted = {
            name: ServiceImage(image=failed.images[name], image_id=failed.image_ids[name])
            for name in failed.images
        }
        try:
            self.ledger.record(
                attempted,
                outcome="failed",
                git_sha=git_sha(self.runner, self.root),
                note=failure[:300],
                source=failed.source,
            )
        except ConveyorError as exc:
            self._say(
                "the failed release could not be recorded in the ledger; rolling back all the "
                f"same ({self.runner.mask(exc.hint or 'no output')})",
                "warning:",
                "yellow",
            )
        self._say(self.runner.mask(failure), "deploy failed:", "red")
        if details:
            self._say(self.runner.mask(details))
        result = DeployResult(ok=False, failure=failure, details=details, smoke=smoke, plan=plan)
        with signals_as_errors() as guard:  # a second signal must not cut the rollback short
            if previous is None:
                self._say("no previous release: removing the failed one")
                result.removed = True
                self._guarded(result, self.engine.down)
            else:
                self._say(f"rolling back to release {previous.id} ...")
                result.restored = previous
                self._guarded(result, lambda: self._restore(previous, scratch, result))
        if guard.pending:
            self._say(f"{guard.pending} arrived during the rollback; it finished first", "note:")
        result.running = self._containers_or_nothing()
        if result.rollback_error:
            result.recover = self.recover_command(previous)
        return result

    def _restore(self, previous: Release, scratch: Scratch, result: DeployResult) -> None:
        restore = self.preparer.recorded(previous, scratch)
        running = self.engine.containers()
        plan = self.plan(restore, running)
        self._apply(restore, plan)
        report = self._wait(restore, {c.id: c.restart_count for c in running})
        result.restore_health = report
        if not report.healthy:
            result.rollback_error = (
                f"release {previous.id} was restored but is not healthy: {report.summary()}"
            )
            self._say(self.runner.mask(report.details()))
        else:
            result.warnings += self._promote(restore, plan)
        result.warnings += self._bind_notes(restore)

    def _guarded(self, result: DeployResult, action: Callable[[], None]) -> None:
        """Run a rollback step; a failure becomes `rollback_error`, never an exception."""
        try:
            action()
        except StepFailed as exc:
            result.rollback_error = exc.summary + (f"\n{exc.details}" if exc.details else "")
        except ConveyorError as exc:
            result.rollback_error = exc.render()

    def _lock_lost(self, why: str, previous: Release | None, plan: ReleasePlan) -> DeployResult:
        message = f"{why}; not rolling back, as another deploy may own {self.target.label} now"
        return DeployResult(
            ok=False,
            failure="lost the deploy lock",
            rollback_error=message,
            running=self._containers_or_nothing(),
            plan=plan,
            recover=self.recover_command(previous),
        )

    def _containers_or_nothing(self) -> list[ContainerState]:
        try:
            return self.engine.containers()
        except ConveyorError:
            return []

    def recover_command(self, previous: Release | None) -> str:
        """The command that brings the target back to a known release."""
        env = self.target.env or "default"
        yes = " --yes" if self.target.needs_confirmation else ""
        if previous is None:
            return f"inv down --env {env}{yes}"
        return f"inv rollback --env {env} --to {previous.id}{yes}"

    def _bind_notes(self, release: PreparedRelease) -> list[str]:
        """Say that a rollback restored images, not the project files services mount."""
        root = Path(self.root)
        binds = project_binds(release.config.services, root)
        sha = (release.restoring.git_sha if release.restoring else None) or "its commit"
        notes = [
            f"{describe_bind(b, root)}: the rollback restored images, not those files; "
            f"check out {sha[:12]} and deploy to restore them"
            for b in binds
        ]
        for line in notes:
            self._say(line, "note:", "yellow")
        return notes

    # -- other actions ------------------------------------------------------------------

    def rollback_candidate(self) -> Release:
        """The newest good release before the live one that runs different images."""
        live = self.ledger.live(running_images(self.strategy.serving(self.engine.containers())))
        same_images = False
        for release in reversed(self.ledger.releases()):
            if live is not None and release.id >= live.id:
                continue
            if live is not None and release.same_images(live.services):
                same_images = same_images or release.outcome != "failed"
                continue
            if release.outcome != "failed":
                return release
        hint = "list the ledger with `inv releases`, or pick one with --to"
        if same_images:
            hint = (
                "earlier releases run the same images: if services bind-mount project files, "
                "an image rollback cannot undo a change to them; check out the commit "
                "`inv releases` shows and deploy it, or pick a release with --to"
            )
        raise ConfigError(f"no earlier release of {self.target.label} to roll back to", hint=hint)

    def start(self, *, yes: bool = False, wait: bool = True) -> DeployResult:
        """`inv up`: preflight, lock, bring up what changed, record; no rollback."""
        self.check_confirmation(yes, "starting")
        with signals_as_errors() as guard, self._scratch() as scratch:
            release = self.preparer.today(scratch)
            warnings = self.static_checks(release)
            guard.check()
            with self._lock(release, guard) as lock:
                self._note_takeover(lock)
                before = self.engine.containers()
                self._previous(before)
                self.check_ports(release, before)
                plan = self.plan(release, before)
                guard.check()
                self.strategy.apply(release, plan, timeout=self.timeout + UP_GRACE_SECONDS)
                report = (
                    self._wait(release, {c.id: c.restart_count for c in before}) if wait else None
                )
                healthy = report is None or report.healthy
                if healthy:  # `up` has no rollback: a release that failed its gate stays put
                    warnings += self.strategy.promote(release, plan)
                outcome: Outcome = "deployed" if healthy else "failed"
                note = "inv up" + ("" if wait else " --no-wait (health not checked)")
                now = self.engine.containers()
                serving = self.strategy.serving(now)
                recorded = self.ledger.record(
                    running_images(serving),
                    outcome=outcome,
                    git_sha=git_sha(self.runner, self.root),
                    note=note,
                    source=release.source,
                    colours=colours(serving),
                )
        result = DeployResult(
            ok=healthy, release=recorded, running=now, plan=plan, warnings=warnings, health=report
        )
        if report is not None and not healthy:
            result.failure, result.details = report.summary(), report.details()
        if guard.pending:
            result.interrupted = Interrupted(guard.pending)
        return result

    def down(self, *, yes: bool = False, volumes: bool = False) -> None:
        """`inv down`: confirmed on `confirm` environments (`--volumes` always explicitly),
        under the deploy lock so it cannot cut a deploy short."""
        if volumes and self.target.needs_confirmation and not yes:
            raise InvalidInputError(
                f"removing the volumes of {self.target.env} needs confirmation",
                hint="pass --yes (the data in its named volumes is deleted)",
            )
        self.check_confirmation(yes, "taking down")
        self.compose.config()
        running = self.engine.containers()
        with signals_as_errors() as guard, ExitStack() as stack:
            if running:
                stack.enter_context(self._lock_from_image(running[0].image_id, guard))
            self.engine.down(volumes=volumes)
        if guard.pending:
            raise Interrupted(guard.pending)

    # -- plumbing ---------------------------------------------------------------------

    def _say(self, text: str, label: str = "", style: str = "") -> None:
        """One message, never wrapped (logs are read and grepped), never parsed as markup."""
        line = Text.assemble((f"{label} ", style) if label else "", text)
        self.console.print(line, soft_wrap=True, highlight=False)

    def _scratch(self) -> Scratch:
        state_root = Path(self.root) / self.target.settings.state_dir
        return Scratch(state_root, self.target.state_dir)

    def _lock(self, release: PreparedRelease, guard: SignalGuard) -> DeployLock:
        """The target's deploy lock, made from an image this deploy has checked is there."""
        image = next(iter(release.image_ids.values()), None)
        if image is None:
            raise ConfigError(
                f"{self.target.label}: the compose files define no service",
                hint="add services to the compose files in [tool.conveyor.deploy]",
            )
        return self._lock_from_image(image, guard)

    def _lock_from_image(self, image: str, guard: SignalGuard) -> DeployLock:
        return DeployLock(
            self.engine,
            self.target.compose.project,
            image=image,
            wait=self.lock_wait,
            max_age=self.target.settings.lock_max_age,
            what=self.target.label,
            stop=guard.check,
        )

    def _note_takeover(self, lock: DeployLock) -> None:
        if lock.stale is not None:
            stale = f"{lock.stale.describe()}; {lock.stale_why}"
            self._say(f"took over a stale deploy lock ({stale})", "note:")
        elif lock.stale_why:
            self._say(f"took over a deploy lock ({lock.stale_why})", "note:")


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
    """The ledger, newest first, with the live release marked (and its colours, if any)."""
    table = Table(title="releases", title_justify="left")
    coloured = any(r.colours for r in releases)
    columns = ("id", "when (UTC)", "by", "git", "outcome", "images", *(("colour",) * coloured))
    for column in (*columns, "note"):
        table.add_column(column)
    for r in reversed(releases):
        images = ", ".join(f"{k}={v.image}" for k, v in sorted(r.services.items()))
        mark = " (live)" if live is not None and r.id == live.id else ""
        colour = [", ".join(f"{k}={v}" for k, v in sorted(r.colours.items()))] * coloured
        table.add_row(
            f"{r.id}{mark}",
            r.created_at,
            r.by,
            (r.git_sha or "")[:12],
            r.outcome,
            images,
            *colour,
            r.note,
        )
    return table
