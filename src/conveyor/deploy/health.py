"""Wait until every service of a compose project is well, or say precisely which is not.

A service is well when its container is healthy (or running, without a healthcheck), or
has exited 0 without a restart policy (one-shot init). It has failed when it is unhealthy,
exited non-zero, restarts (crash loop) or is dead. Polls `docker inspect` every 0.25 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rich.console import Console
from rich.live import Live
from rich.table import Table

from conveyor.ci import in_ci
from conveyor.reports.console import output_console
from conveyor.tools.compose import Compose, ContainerState

POLL_SECONDS = 0.25
PROBES_SHOWN = 3
Verdict = Literal["ok", "waiting", "failed"]


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
        return [s for s in self.services if s.verdict != "ok"]

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
    container: ContainerState | None, service: str, baseline_restarts: int = 0
) -> ServiceHealth:
    """The verdict for one service from its container's state."""
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
        return _assess_running(container, service)
    if container.status == "exited":
        if container.exit_code == 0 and not container.restart_policy:
            return ServiceHealth(service, "ok", "completed (exit 0)", container)
        return ServiceHealth(
            service, "failed", f"exited with code {container.exit_code}", container
        )
    verdict: Verdict = "failed" if container.status in ("dead", "removing") else "waiting"
    return ServiceHealth(service, verdict, f"is {container.status}", container)


def _assess_running(container: ContainerState, service: str) -> ServiceHealth:
    health = container.health
    if health is None:
        return ServiceHealth(service, "ok", "running (no healthcheck)", container)
    if health == "healthy":
        return ServiceHealth(service, "ok", "healthy", container)
    if health == "unhealthy":
        return ServiceHealth(service, "failed", "is unhealthy", container)
    return ServiceHealth(service, "waiting", f"health {health}", container)


def assess_all(
    containers: Sequence[ContainerState],
    services: Sequence[str],
    baseline: dict[str, int] | None = None,
) -> list[ServiceHealth]:
    """One verdict per service (the worst of its containers)."""
    rank = {"failed": 0, "waiting": 1, "ok": 2}
    verdicts: list[ServiceHealth] = []
    for service in services:
        mine = [c for c in containers if c.service == service]
        start = (baseline or {}).get
        results = [assess(c, service, start(c.id, 0)) for c in mine] or [assess(None, service)]
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
    baseline: dict[str, int] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> HealthReport:
    """Poll until every service is well, one fails, or `timeout` passes.

    `baseline` maps container IDs to restart counts that are not (yet) a crash loop; by
    default, the counts seen at the first poll.
    """
    started = clock()
    verdicts: list[ServiceHealth] = []
    timed_out = False
    while True:
        containers = compose.containers()
        if baseline is None:  # only restarts during this wait count as a crash loop
            baseline = {c.id: c.restart_count for c in containers}
        verdicts = assess_all(containers, services, baseline)
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
