"""Health verdicts from container states, and how a failure is reported."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from conveyor.deploy.health import HealthReport, Progress, ServiceHealth, assess, assess_all
from conveyor.tools.compose import ContainerState, HealthProbe


def state(
    status: str = "running",
    *,
    health: str | None = "healthy",
    exit_code: int = 0,
    restarts: int = 0,
    policy: str = "",
    cid: str = "c1",
) -> ContainerState:
    return ContainerState(
        id=cid, name=f"demo_{cid}", service="app", status=status, exit_code=exit_code,
        restart_count=restarts, image="demo:1", image_id="sha256:1", health=health,
        probes=(HealthProbe(1, "503 store down"),), restart_policy=policy,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("container", "verdict", "detail"),
    [
        (None, "waiting", "has no container yet"),
        (state(), "ok", "healthy"),
        (state(health=None), "ok", "running (no healthcheck)"),
        (state(health="starting"), "waiting", "health starting"),
        (state(health="unhealthy"), "failed", "is unhealthy"),
        (state("exited", health=None), "ok", "completed (exit 0)"),
        (state("exited", health=None, policy="always"), "failed", "exited with code 0"),
        (state("exited", health=None, exit_code=3), "failed", "exited with code 3"),
        (state("restarting", health=None, exit_code=3, restarts=1), "failed", "is crash-looping"),
        (state("running", health="starting", exit_code=3, restarts=2), "failed", "restarted 2x"),
        (state("created", health=None), "waiting", "is created"),
        (state("dead", health=None), "failed", "is dead"),
    ],
)
def test_verdicts(container: ContainerState | None, verdict: str, detail: str) -> None:
    result = assess(container, "app")
    assert result.verdict == verdict
    assert detail in result.detail


def test_restarts_before_the_wait_are_not_a_crash_loop() -> None:
    assert assess(state(restarts=4), "app", baseline_restarts=4).verdict == "ok"


def test_worst_container_of_a_service_wins() -> None:
    verdicts = assess_all([state(cid="a"), state(health="unhealthy", cid="b")], ["app", "db"])
    assert [(v.service, v.verdict) for v in verdicts] == [("app", "failed"), ("db", "waiting")]


def test_report_names_failing_services_with_probes_and_logs() -> None:
    bad = ServiceHealth("app", "failed", "is unhealthy", state(health="unhealthy"))
    report = HealthReport([bad, ServiceHealth("store", "ok", "healthy")], seconds=3.2)
    report.logs["app"] = "boot\nready"
    assert not report.healthy
    assert report.summary() == "health check failed after 3.2s: app is unhealthy"
    details = report.details()
    assert "probe exit 1: 503 store down" in details
    assert "    ready" in details
    report.timed_out = True
    assert report.summary().startswith("health check timed out")
    assert HealthReport([], 0).healthy is False


def test_plain_progress_prints_changes_only() -> None:
    out = io.StringIO()
    with Progress(Console(file=out, force_terminal=False)) as progress:
        waiting = [ServiceHealth("app", "waiting", "health starting")]
        progress.update(waiting, 0.1)
        progress.update(waiting, 0.4)
        progress.update([ServiceHealth("app", "ok", "healthy")], 1.0)
    assert out.getvalue().splitlines() == ["[  0.1s] app: health starting", "[  1.0s] app: healthy"]


def test_terminal_progress_draws_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    out = io.StringIO()
    with Progress(Console(file=out, force_terminal=True, width=80)) as progress:
        progress.update([ServiceHealth("app", "ok", "healthy")], 1.0)
    assert "app" in out.getvalue()
    assert "healthy" in out.getvalue()
