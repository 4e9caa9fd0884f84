"""Invoke tasks: `inv deploy`, `inv rollback`, `inv releases`.

A deploy is gated on health and smoke tests and rolls every service back on failure; see
`conveyor.deploy.orchestrate` for the order of steps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from invoke.context import Context
from invoke.tasks import Task, task

from conveyor.deploy.ledger import running_images
from conveyor.deploy.orchestrate import Deployer, DeployResult, releases_table, running_table
from conveyor.deploy.report import write_deploy_report
from conveyor.deploy.target import parse_seconds, resolve_target
from conveyor.errors import GateFailedError, InvalidInputError
from conveyor.reports.console import output_console
from conveyor.reports.github import Annotation, emit_annotations, write_step_summary
from conveyor.tasks._common import project_of, reports_errors

ENV_HELP = "target environment from [tool.conveyor.deploy.environments]"


def release_id(text: str) -> int:
    """A release id from `inv releases`: ASCII digits only (`str.isdigit` also takes '²')."""
    if re.fullmatch(r"[0-9]{1,18}", text) is None:
        raise InvalidInputError(
            f"--to {text!r} is not a release id", hint="pick an id from `inv releases`"
        )
    return int(text)


def _deployer(
    c: Context,
    env: str,
    tag: str | None = None,
    lock_wait: str | None = None,
    timeout: str | None = None,
) -> tuple[Deployer, Path]:
    """The deployer of `env` and the reports directory."""
    project = project_of(c)
    target = resolve_target(project, env, tag)
    deployer = Deployer(
        target,
        root=str(project.root),
        lock_wait=parse_seconds("lock-wait", lock_wait),
        health_timeout=parse_seconds("timeout", timeout),
    )
    return deployer, project.reports


def _finish(deployer: Deployer, result: DeployResult, what: str, reports: Path) -> None:
    """Print and record what runs now; raise GateFailedError (exit 1) when it failed."""
    console = output_console(stderr=True)
    label = deployer.target.label
    console.print(running_table(result.running, f"{label}: running now"))
    written = write_deploy_report(reports, deployer.target, result, what)
    console.print(f"report: {written}")
    if result.ok and result.release is not None:
        line = f"{what} of {label}: release {result.release.id} is live"
        print(line, flush=True)
        write_step_summary(f"### {line}\n")
        return
    if result.restored is not None and result.restore_health is not None:
        state = "healthy" if result.restore_health.healthy else result.restore_health.summary()
        now = f"rolled back to release {result.restored.id} ({state})"
    else:
        now = "no previous release to restore; the failed one was removed"
    write_step_summary(f"### {what} of {label} failed\n\n{result.failure}\n\n{now}\n")
    message = f"{what} of {label} failed: {result.failure}; {now}"
    emit_annotations([Annotation("error", message, title=f"{what} failed")])
    raise GateFailedError(message)


@task(
    help={
        "env": ENV_HELP,
        "tag": "image tag to deploy (sets the tag variable, APP_TAG by default)",
        "yes": "confirm a deploy to production (implied when CI is set)",
        "lock-wait": "seconds to wait for another deploy's lock (default from config)",
        "timeout": "health timeout in seconds (default: health-timeout from config)",
    }
)
@reports_errors
def deploy(
    c: Context,
    env: str,
    *,
    tag: str | None = None,
    yes: bool = False,
    lock_wait: str | None = None,
    timeout: str | None = None,
) -> None:
    """Deploy with a health gate and smoke tests; roll every service back on any failure."""
    deployer, reports = _deployer(c, env, tag, lock_wait, timeout)
    _finish(deployer, deployer.deploy(yes=yes), "deploy", reports)


@task(
    help={
        "env": ENV_HELP,
        "to": "release id from `inv releases` (default: the one before the live release)",
        "yes": "confirm for production (implied when CI is set)",
        "lock-wait": "seconds to wait for another deploy's lock",
        "timeout": "health timeout in seconds",
    }
)
@reports_errors
def rollback(
    c: Context,
    env: str,
    *,
    to: str | None = None,
    yes: bool = False,
    lock_wait: str | None = None,
    timeout: str | None = None,
) -> None:
    """Bring back a recorded release (health-gated, like a deploy)."""
    deployer, reports = _deployer(c, env, None, lock_wait, timeout)
    deployer.compose.ping()
    release = release_id(to) if to is not None else deployer.rollback_candidate().id
    result = deployer.deploy(yes=yes, to_release=release)
    _finish(deployer, result, f"rollback to release {release}", reports)


@task(help={"env": ENV_HELP})
@reports_errors
def releases(c: Context, env: str) -> None:
    """List the release ledger (kept on the target's engine), newest first, the live one marked."""
    deployer, _ = _deployer(c, env)
    deployer.compose.ping()
    recorded = deployer.ledger.releases()
    live = deployer.ledger.live(running_images(deployer.compose.containers()))
    output_console().print(releases_table(recorded, live))


TASKS: list[Task[Callable[..., Any]]] = [deploy, rollback, releases]
