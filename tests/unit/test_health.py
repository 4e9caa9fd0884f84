"""Health verdicts from container states, and how a failure is reported."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from conveyor.deploy.health import (
    HealthReport,
    Progress,
    ServiceHealth,
    Stability,
    assess,
    assess_all,
)
from conveyor.deploy.plan import FINGERPRINT_LABEL
from conveyor.tools.compose import ContainerState, HealthProbe


def state(
    status: str = "running",
    *,
    health: str | None = "healthy",
    exit_code: int = 0,
    restarts: int = 0,
    policy: str = "",
    cid: str = "c1",
    fingerprint: str = "f1",
) -> ContainerState:
    return ContainerState(
        id=cid, name=f"demo_{cid}", service="app", status=status, exit_code=exit_code,
        restart_count=restarts, image="demo:1", image_id="sha256:1", health=health,
        probes=(HealthProbe(1, "503 store down"),), restart_policy=policy,
        labels={FINGERPRINT_LABEL: fingerprint},
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


def test_without_a_healthcheck_a_service_must_stay_up_for_the_window() -> None:
    quiet = state(health=None)
    early = assess(quiet, "app", running_for=1.0, window=10)
    assert (early.verdict, early.detail) == (
        "waiting",
        "running (no healthcheck): must stay up 10s without a restart",
    )
    done = assess(quiet, "app", running_for=10.0, window=10)
    assert (done.verdict, done.detail) == ("ok", "running (no healthcheck) 10s without a restart")
    crashed = assess(state("restarting", health=None, restarts=1), "app", running_for=99, window=10)
    assert crashed.verdict == "failed"


def test_stability_restarts_its_clock_when_a_container_restarts_or_stops() -> None:
    stability = Stability()
    first = state(health=None)
    stability.observe([first], now=100.0)
    assert stability.running_for(first, now=104.0) == 4.0
    again = state(health=None, restarts=1)  # the same container, restarted
    stability.observe([again], now=105.0)
    assert stability.running_for(again, now=106.0) == 1.0
    stability.observe([state("exited", health=None, restarts=1)], now=107.0)
    assert stability.running_for(again, now=108.0) == 0.0


def test_containers_of_another_release_are_not_looked_at() -> None:
    replaced = state(health="unhealthy", cid="old", fingerprint="bad")  # being replaced
    fresh = state(health="starting", cid="new", fingerprint="good")
    (verdict,) = assess_all([replaced, fresh], ["app"], expected={"app": "good"})
    assert (verdict.verdict, verdict.detail) == ("waiting", "health starting")
    (only_old,) = assess_all([replaced], ["app"], expected={"app": "good"})
    assert only_old.detail == "has no container yet"
    (unfiltered,) = assess_all([replaced, fresh], ["app"])
    assert unfiltered.verdict == "failed"


def test_a_failure_names_the_failed_services_not_the_ones_still_waiting() -> None:
    report = HealthReport(
        [
            ServiceHealth("app", "failed", "is crash-looping"),
            ServiceHealth("proxy", "waiting", "running (no healthcheck): must stay up 2s"),
        ],
        seconds=0.5,
    )
    assert report.summary() == "health check failed after 0.5s: app is crash-looping"
    report.services[0] = ServiceHealth("app", "ok", "healthy")
    report.timed_out = True
    assert "proxy running (no healthcheck)" in report.summary()
