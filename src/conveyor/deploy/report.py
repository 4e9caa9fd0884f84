"""The machine-readable record of a deploy: what was attempted, what failed, what runs now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conveyor.deploy.orchestrate import DeployResult
from conveyor.deploy.target import Target


def deploy_report(target: Target, result: DeployResult, what: str) -> dict[str, Any]:
    """A JSON-able summary of one deploy or rollback."""
    restore = result.restore_health
    return {
        "action": what,
        "environment": target.env,
        "project": target.compose.project,
        "ok": result.ok,
        "release": result.release.model_dump() if result.release else None,
        "failure": result.failure or None,
        "details": result.details or None,
        "restored_release": result.restored.id if result.restored else None,
        "restored_healthy": restore.healthy if restore is not None else None,
        "smoke": [
            {"url": s.url, "expected": s.expected, "status": s.status, "seconds": s.seconds}
            for s in result.smoke
        ],
        "running": [
            {"service": c.service, "image": c.image, "status": c.status, "health": c.health}
            for c in sorted(result.running, key=lambda c: c.service)
        ],
    }


def write_deploy_report(reports: Path, target: Target, result: DeployResult, what: str) -> Path:
    """reports/deploy-<env>.json (overwritten by the next deploy of that environment)."""
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / f"deploy-{target.env or 'default'}.json"
    path.write_text(json.dumps(deploy_report(target, result, what), indent=2) + "\n")
    return path
