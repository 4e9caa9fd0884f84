"""The machine-readable record of a deploy: what was attempted, what failed, what runs now.

It names compose files and env files, never their contents, and every free text in it
(failure, probe output, log lines) passes through the runner's mask first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from conveyor.deploy.ledger import Release
from conveyor.deploy.orchestrate import DeployResult
from conveyor.deploy.target import Target


def release_summary(release: Release | None) -> dict[str, Any] | None:
    """A release as the report shows it: images, sha, file names (no file contents)."""
    if release is None:
        return None
    return {
        "id": release.id,
        "outcome": release.outcome,
        "git_sha": release.git_sha,
        "created_at": release.created_at,
        "by": release.by,
        "note": release.note,
        "services": {k: msgspec.structs.asdict(v) for k, v in sorted(release.services.items())},
        "compose_files": [f.path for f in release.compose_files],
        "env_files": list(release.env_files),
        "restored_from": release.restored_from,
        "colours": dict(sorted(release.colours.items())),
    }


def deploy_report(
    target: Target, result: DeployResult, what: str, mask: Callable[[str], str] = str
) -> dict[str, Any]:
    """A JSON-able summary of one deploy, rollback or `up`."""
    restore = result.restore_health
    return {
        "action": what,
        "environment": target.env,
        "project": target.compose.project,
        "ok": result.ok,
        "outcome": result.outcome,
        "exit_code": result.exit_code,
        "release": release_summary(result.release),
        "failure": mask(result.failure) or None,
        "details": mask(result.details) or None,
        "restored_release": result.restored.id if result.restored else None,
        "restored_healthy": restore.healthy if restore is not None else None,
        "rollback_error": mask(result.rollback_error) or None,
        "recover": result.recover or None,
        "changed": [
            {"service": c.service, "why": c.why}
            for c in (result.plan.changes if result.plan else ())
        ],
        "unchanged": list(result.plan.unchanged) if result.plan else [],
        "warnings": [mask(w) for w in result.warnings],
        "interrupted": str(result.interrupted) if result.interrupted else None,
        "smoke": [
            {
                "url": s.url,
                "expected": s.expected,
                "status": s.status,
                "seconds": s.seconds,
                "attempts": s.attempts,
            }
            for s in result.smoke
        ],
        "running": [
            {
                "service": c.service,
                "image": c.image,
                "image_id": c.image_id,
                "status": c.status,
                "health": c.health,
            }
            for c in sorted(result.running, key=lambda c: c.service)
        ],
    }


def write_deploy_report(
    reports: Path,
    target: Target,
    result: DeployResult,
    what: str,
    mask: Callable[[str], str] = str,
) -> Path:
    """reports/deploy-<env>.json (overwritten by the next deploy of that environment)."""
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / f"deploy-{target.env or 'default'}.json"
    report = deploy_report(target, result, what, mask)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path
