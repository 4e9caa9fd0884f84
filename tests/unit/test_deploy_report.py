"""The deploy report, exit codes and the one-line 'what runs now' of a failed rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor.config import load_project
from conveyor.deploy.health import HealthReport, ServiceHealth
from conveyor.deploy.ledger import ComposeFile, Release, ServiceImage
from conveyor.deploy.orchestrate import DeployResult
from conveyor.deploy.plan import ReleasePlan, ServiceChange
from conveyor.deploy.report import write_deploy_report
from conveyor.deploy.signals import Interrupted
from conveyor.deploy.target import resolve_target
from conveyor.runner import Runner
from conveyor.tasks.deploy import what_runs
from conveyor.tools.compose import ContainerState

RELEASE = Release(
    id=4,
    env="staging",
    project="demo",
    services={"app": ServiceImage(image="demo:1", image_id="sha256:1")},
    created_at="2026-01-01T00:00:00+00:00",
    by="me@host",
    outcome="deployed",
    compose_files=[ComposeFile(path="compose.yaml", text="services: {app: {image: x}}\n")],
    env_files=["staging.env"],
)
RUNNING = ContainerState(
    id="c", name="c", service="app", status="restarting", exit_code=3, restart_count=2,
    image="demo:1", image_id="sha256:1",
)  # fmt: skip


def test_exit_codes_and_outcomes() -> None:
    assert (DeployResult(ok=True).exit_code, DeployResult(ok=True).outcome) == (0, "live")
    late = DeployResult(ok=True, interrupted=Interrupted("SIGTERM"))
    assert late.exit_code == 143
    restored = DeployResult(ok=False, restored=RELEASE)
    assert (restored.exit_code, restored.outcome) == (1, "rolled-back")
    failed = DeployResult(ok=False, restored=RELEASE, rollback_error="boom")
    assert (failed.exit_code, failed.outcome) == (3, "rollback-failed")
    assert DeployResult(ok=False, removed=True).outcome == "removed"
    assert DeployResult(ok=False).outcome == "unchanged"
    assert DeployResult(ok=False, release=RELEASE).outcome == "unhealthy"


def test_the_report_names_files_never_their_contents_and_masks_text(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[tool.conveyor.deploy.environments.staging]\n'
    )
    target = resolve_target(load_project(tmp_path), "staging")
    health = HealthReport([ServiceHealth("app", "failed", "is crash-looping")], seconds=1)
    result = DeployResult(
        ok=False,
        release=RELEASE,
        failure="smoke test failed: token tok-123456 rejected",
        details="log: password=tok-123456",
        restored=RELEASE,
        restore_health=health,
        rollback_error="release 4 was restored but is not healthy",
        running=[RUNNING],
        plan=ReleasePlan({}, {}, {}, {}, (ServiceChange("app", "new image"),), (), ("db",)),
        recover="inv rollback --env staging --to 4",
    )
    mask = Runner(secrets={"tok-123456"}).mask
    path = write_deploy_report(tmp_path / "reports", target, result, "deploy", mask)
    assert path.name == "deploy-staging.json"
    report = json.loads(path.read_text())
    assert "tok-123456" not in path.read_text()
    assert report["release"]["compose_files"] == ["compose.yaml"]
    assert "services: {app" not in path.read_text()
    assert report["release"]["env_files"] == ["staging.env"]
    assert (report["outcome"], report["exit_code"]) == ("rollback-failed", 3)
    assert report["recover"] == "inv rollback --env staging --to 4"
    assert report["changed"] == [{"service": "app", "why": "new image"}]
    assert report["unchanged"] == ["db"]
    assert report["restored_healthy"] is False
    assert report["running"][0]["image_id"] == "sha256:1"


@pytest.mark.parametrize(
    ("running", "text"),
    [([RUNNING], "app=demo:1 (restarting)"), ([], "nothing")],
)
def test_what_runs(running: list[ContainerState], text: str) -> None:
    assert what_runs(DeployResult(ok=False, running=running)) == text
