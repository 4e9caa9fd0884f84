"""Wait until every service of a compose project is well, or say precisely which is not.

A service is well when its container is healthy, or, without a healthcheck, has been seen
running without a restart for the stability window (a process that crashes two seconds
after its start is not healthy at 0.0 s), or has exited 0 without a restart policy
(one-shot init). It has failed when it is unhealthy, exited non-zero, restarts (crash loop)
or is dead. When the containers a release should run are known (by their fingerprint),
other containers of the service (one being replaced) are not looked at, so their stale
readings cannot fail the wait. Polls `docker inspect` every 0.25 s.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rich.console import Console
from rich.live import Live
from rich.table import Table

from conveyor.ci import in_ci
from conveyor.deploy.plan import FINGERPRINT_LABEL
from conveyor.deploy.prepare import PreparedRelease
from conveyor.reports.console import output_console
from conveyor.tools.compose import Compose, ContainerState

POLL_SECONDS = 0.25
PROBES_SHOWN = 3
Verdict = Literal["ok", "waiting", "failed"]


@dataclass(frozen=True)
class Gate:
    """What the health gate allows: how long, the stability window, log lines shown."""

    timeout: float
    window: float = 0.0
    log_lines: int = 50


@dataclass(frozen=True)
class ServiceHealth:
    """One service's verdict and why."""

    service: str
    verdict: Verdict
    detail: str
    container: ContainerState | None = None


@dataclass
class HealthReport:
    """The outcome of a wait: verdicts, and for failures the probes and logs to show."""

    services: list[ServiceHealth]
    seconds: float
    timed_out: bool = False
    logs: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return bool(self.services) and all(s.verdict == "ok" for s in self.services)

    @property
    def failing(self) -> list[ServiceHealth]:
        """The services that failed; after a timeout, every one that is not well."""
        failed = [s for s in self.services if s.verdict == "failed"]
        return failed or [s for s in self.services if s.verdict != "ok"]

    def summary(self) -> str:
        """One line: what failed (or that all is well)."""
        if self.healthy:
            return f"all {len(self.services)} services healthy after {self.seconds:.1f}s"
        parts = [f"{s.service} {s.detail}" for s in self.failing]
        why = "timed out" if self.timed_out else "failed"
        return f"health check {why} after {self.seconds:.1f}s: " + "; ".join(parts)

    def details(self) -> str:
        """Probe outputs and last log lines of each failing service."""
        blocks: list[str] = []
        for item in self.failing:
            lines = [f"--- {item.service}: {item.detail}"]
            if item.container is not None:
                for probe in item.container.probes[-PROBES_SHOWN:]:
                    out = probe.output.replace("\n", " ")[:300] or "(no output)"
                    lines.append(f"  probe exit {probe.exit_code}: {out}")
                if item.container.error:
                    lines.append(f"  engine error: {item.container.error}")
            log = self.logs.get(item.service, "")
            if log:
                lines.append(f"  last log lines of {item.service}:")
                lines.extend("    " + ln for ln in log.splitlines())
            blocks.append("\n".join(lines))
        return "\n".join(blocks)


def assess(
    container: ContainerState | None,
    service: str,
    baseline_restarts: int = 0,
    *,
    running_for: float = float("inf"),
    window: float = 0.0,
) -> ServiceHealth:
    """The verdict for one service from its container's state.

    `running_for` is how long the container has been seen running without a restart; a
    container without a healthcheck needs `window` seconds of it.
    """
    if container is None:
        return ServiceHealth(service, "waiting", "has no container yet")
    if container.restart_count > baseline_restarts or container.status == "restarting":
        return ServiceHealth(
            service,
            "failed",
            f"is crash-looping (restarted {container.restart_count}x, "
            f"last exit code {container.exit_code})",
            container,
        )
    if container.status == "running":
        return _assess_running(container, service, running_for, window)
    if container.status == "exited":
        if container.exit_code == 0 and not container.restart_policy:
            return ServiceHealth(service, "ok", "completed (exit 0)", container)
        return ServiceHealth(
            service, "failed", f"exited with code {container.exit_code}", container
        )
    verdict: Verdict = "failed" if container.status in ("dead", "removing") else "waiting"
    return ServiceHealth(service, verdict, f"is {container.status}", container)


def _assess_running(
    container: ContainerState, service: str, running_for: float, window: float
) -> ServiceHealth:
    health = container.health
    if health is None:
        if running_for >= window:
            stable = f" {window:g}s without a restart" if window else ""
            return ServiceHealth(service, "ok", f"running (no healthcheck){stable}", container)
        return ServiceHealth(
            service,
            "waiting",
            f"running (no healthcheck): must stay up {window:g}s without a restart",
            container,
        )
    if health == "healthy":
        return ServiceHealth(service, "ok", "healthy", container)
    if health == "unhealthy":
        return ServiceHealth(service, "failed", "is unhealthy", container)
    return ServiceHealth(service, "waiting", f"health {health}", container)


class Stability:
    """How long each container has been seen running without a restart (monotonic clock)."""

    def __init__(self) -> None:
        self._since: dict[tuple[str, int], float] = {}

    def observe(self, containers: Sequence[ContainerState], now: float) -> None:
        seen = set()
        for c in containers:
            if c.status == "running":
                key = (c.id, c.restart_count)
                seen.add(key)
                self._since.setdefault(key, now)
        for key in set(self._since) - seen:
            del self._since[key]

    def running_for(self, container: ContainerState, now: float) -> float:
        since = self._since.get((container.id, container.restart_count))
        return 0.0 if since is None else now - since


def assess_all(
    containers: Sequence[ContainerState],
    services: Sequence[str],
    baseline: Mapping[str, int] | None = None,
    *,
    expected: Mapping[str, str] | None = None,
    running_for: Callable[[ContainerState], float] = lambda c: float("inf"),
    window: float = 0.0,
) -> list[ServiceHealth]:
    """One verdict per service (the worst of its containers).

    With `expected` (service -> fingerprint), only the containers of that release count.
    """
    rank = {"failed": 0, "waiting": 1, "ok": 2}
    verdicts: list[ServiceHealth] = []
    start = (baseline or {}).get
    for service in services:
        mine = [c for c in containers if c.service == service]
        if expected is not None and service in expected:
            mine = [c for c in mine if c.labels.get(FINGERPRINT_LABEL) == expected[service]]
        results = [
            assess(c, service, start(c.id, 0), running_for=running_for(c), window=window)
            for c in mine
        ] or [assess(None, service)]
        verdicts.append(min(results, key=lambda r: rank[r.verdict]))
    return verdicts


class Progress:
    """Per-service progress: a live table in a terminal, a line per change elsewhere."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or output_console(stderr=True)
        self._live: Live | None = None
        self._last: dict[str, str] = {}

    def __enter__(self) -> Progress:
        if self.console.is_terminal and not in_ci():
            self._live = Live(console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, verdicts: Sequence[ServiceHealth], elapsed: float) -> None:
        if self._live is not None:
            table = Table(title=f"health ({elapsed:.1f}s)", title_justify="left")
            table.add_column("service")
            table.add_column("state")
            style = {"ok": "green", "waiting": "yellow", "failed": "red"}
            for item in verdicts:
                table.add_row(item.service, f"[{style[item.verdict]}]{item.detail}[/]")
            self._live.update(table)
            return
        for item in verdicts:
            if self._last.get(item.service) != item.detail:
                self._last[item.service] = item.detail
                print(
                    f"[{elapsed:5.1f}s] {item.service}: {item.detail}",
                    file=self.console.file,
                    flush=True,
                )


def wait_healthy(
    compose: Compose,
    services: Sequence[str],
    *,
    timeout: float,
    log_lines: int = 50,
    progress: Progress | None = None,
    baseline: Mapping[str, int] | None = None,
    clock: Callable[[], float] = time.monotonic,
    window: float = 0.0,
    expected: Mapping[str, str] | None = None,
) -> HealthReport:
    """Poll until every service is well, one fails, or `timeout` passes.

    `baseline` maps container IDs to restart counts that are not (yet) a crash loop; by
    default, the counts seen at the first poll. `window` is the stability window of
    services without a healthcheck; `expected` the fingerprints of the release's containers.
    """
    started = clock()
    verdicts: list[ServiceHealth] = []
    timed_out = False
    stability = Stability()
    while True:
        containers = compose.containers()
        if baseline is None:  # only restarts during this wait count as a crash loop
            baseline = {c.id: c.restart_count for c in containers}
        now = clock()
        stability.observe(containers, now)
        verdicts = assess_all(
            containers,
            services,
            baseline,
            expected=expected,
            running_for=functools.partial(stability.running_for, now=now),
            window=window,
        )
        elapsed = clock() - started
        if progress is not None:
            progress.update(verdicts, elapsed)
        if all(v.verdict == "ok" for v in verdicts):
            break
        if any(v.verdict == "failed" for v in verdicts):
            break
        if elapsed >= timeout:
            timed_out = True
            break
        time.sleep(POLL_SECONDS)
    report = HealthReport(services=verdicts, seconds=clock() - started, timed_out=timed_out)
    for item in report.failing:
        if item.container is not None and log_lines:
            report.logs[item.service] = compose.container_logs(item.container.id, tail=log_lines)
    return report


def wait_release(
    compose: Compose,
    release: PreparedRelease,
    *,
    gate: Gate,
    baseline: Mapping[str, int],
    progress: Progress | None = None,
) -> HealthReport:
    """Every service of a release healthy, judged on that release's containers only."""
    return wait_healthy(
        compose,
        list(release.config.services),
        timeout=gate.timeout,
        log_lines=gate.log_lines,
        progress=progress,
        baseline=baseline,
        window=gate.window,
        expected=release.fingerprints,
    )
