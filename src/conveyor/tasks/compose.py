"""Invoke tasks: `inv up`, `inv health`, `inv down`, `inv logs` on a compose project.

Without `--env` they act on `[tool.conveyor.deploy] compose-files`; with it, on that
environment's overlay, env file and project name (the same target `inv deploy` uses).
`up` is a deploy without rollback: the same preflight (images, free ports, healthchecks,
bind mounts), the deploy lock, only what changed brought up, the release recorded. On a
`confirm` environment `up` and `down` need --yes (or CI); `down --volumes` always --yes.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from invoke.context import Context
from invoke.tasks import Task, task

from conveyor.deploy.health import Progress, wait_healthy
from conveyor.deploy.orchestrate import Deployer
from conveyor.deploy.signals import Interrupted
from conveyor.deploy.target import Target, parse_seconds, resolve_target
from conveyor.errors import ConfigError, GateFailedError
from conveyor.reports.console import output_console
from conveyor.tasks._common import project_of, reports_errors
from conveyor.tools.compose import Compose

ENV_HELP = "environment from [tool.conveyor.deploy.environments] (default: base compose files)"


def _target(c: Context, env: str | None, tag: str | None = None) -> tuple[Target, Compose]:
    """The compose target of `env`; a swarm environment is refused (these tasks read one
    Docker host's containers, which would say nothing about a stack)."""
    target = resolve_target(project_of(c), env, tag)
    if target.environment.engine == "swarm":
        stack = target.compose.project
        raise ConfigError(
            f"{target.label} is a swarm stack: `inv health` and `inv logs` read compose targets",
            hint=f"`inv deploy` waits for the stack to converge; see it with `docker stack ps "
            f"{stack}` and `docker service logs {stack}_<service>`",
        )
    return target, Compose(target.compose)


def check_health(target: Target, compose: Compose, *, timeout: float | None = None) -> str:
    """Wait for every service to be well; GateFailedError naming the failing ones."""
    specs = compose.config()
    compose.ping()
    console = output_console(stderr=True)
    with Progress(console) as progress:
        report = wait_healthy(
            compose,
            list(specs),
            timeout=target.settings.health_timeout if timeout is None else timeout,
            log_lines=target.settings.log_lines,
            progress=progress,
            window=target.settings.stability_window,
        )
    if not report.healthy:
        print(report.details(), file=sys.stderr, flush=True)
        raise GateFailedError(
            f"{target.label}: {report.summary()}",
            hint="see the probe output and logs above; `inv logs` shows more",
        )
    return report.summary()


@task(
    help={
        "env": ENV_HELP,
        "tag": "image tag (sets the deploy tag variable)",
        "wait": "then wait for health",
        "yes": "confirm on a `confirm` environment (implied when CI is set)",
    }
)
@reports_errors
def up(
    c: Context, env: str | None = None, tag: str | None = None, wait: bool = True, yes: bool = False
) -> None:
    """Start what changed (images must exist) under the deploy lock, record it, wait for health."""
    project = project_of(c)
    deployer = Deployer(resolve_target(project, env, tag), root=str(project.root))
    try:
        result = deployer.start(yes=yes, wait=wait)
    except Interrupted as exc:
        raise GateFailedError(f"{exc}; nothing was changed", exit_code=exc.exit_code) from None
    label = deployer.target.label
    if not result.ok:
        print(deployer.runner.mask(result.details), file=sys.stderr, flush=True)
        raise GateFailedError(
            f"{label}: {deployer.runner.mask(result.failure)}",
            hint="see the probe output and logs above; `inv logs` shows more; "
            f"nothing is rolled back by `up` (`inv rollback --env {env or 'default'}` does)",
        )
    release = result.release.id if result.release is not None else "?"
    checked = result.health.summary() if result.health is not None else "health not checked"
    print(f"{label}: up, {checked}; release {release} recorded", flush=True)
    if result.interrupted is not None:
        raise GateFailedError(
            f"{result.interrupted} after {label} came up", exit_code=result.exit_code
        )


@task(help={"env": ENV_HELP, "timeout": "seconds to wait (default: health-timeout from config)"})
@reports_errors
def health(c: Context, env: str | None = None, timeout: str | None = None) -> None:
    """Wait until every service is healthy (or running / exited 0); name the ones that are not."""
    target, compose = _target(c, env)
    print(check_health(target, compose, timeout=parse_seconds("timeout", timeout)), flush=True)


@task(
    help={
        "env": ENV_HELP,
        "volumes": "also remove named volumes (their data is lost)",
        "yes": "confirm on a `confirm` environment (--volumes: always needed there)",
    }
)
@reports_errors
def down(c: Context, env: str | None = None, volumes: bool = False, yes: bool = False) -> None:
    """Stop and remove the project's containers and networks (under the deploy lock)."""
    project = project_of(c)
    deployer = Deployer(resolve_target(project, env), root=str(project.root))
    deployer.engine.ping()
    try:
        deployer.down(yes=yes, volumes=volumes)
    except Interrupted as exc:
        raise GateFailedError(f"{exc}", exit_code=exc.exit_code) from None
    print(f"{deployer.target.label}: down", flush=True)


@task(help={"env": ENV_HELP, "service": "one service (default: all)", "tail": "lines per service"})
@reports_errors
def logs(c: Context, env: str | None = None, service: str | None = None, tail: int = 50) -> None:
    """Print the last lines of the services' logs."""
    target, compose = _target(c, env)
    specs = compose.config()
    if service is not None and service not in specs:
        raise GateFailedError(
            f"{target.label}: no service {service!r}",
            hint="services: " + ", ".join(sorted(specs)),
            exit_code=2,
        )
    compose.ping()
    print(compose.logs(service, tail=tail), end="", flush=True)


TASKS: list[Task[Callable[..., Any]]] = [up, health, down, logs]
