"""From `[tool.conveyor.deploy]` and an environment name to one compose target.

Everything here is checked before Docker is touched: the environment name's grammar and
that it is configured, the tag's grammar. The ledger and the lock live on the target's
engine; the state directory only holds scratch compose files a rollback is run from, and
the overlay naming the images of build-only services (`conveyor.images.naming`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from conveyor.config import DeploySettings, EnvironmentSettings, Project, StrategyName
from conveyor.errors import ConfigError, InvalidInputError
from conveyor.images.naming import write_image_overlay
from conveyor.tools.compose import ComposeTarget
from conveyor.validate import validate_name, validate_tag

ENV_NAME = re.compile(r"[a-z][a-z0-9-]*")
_PROJECT_CHARS = re.compile(r"[^a-z0-9_-]+")
PRODUCTION = "production"
IMAGES_DIR = "images"


@dataclass(frozen=True)
class Target:
    """One deploy target: its name, compose target, settings and state directory."""

    env: str | None
    compose: ComposeTarget
    settings: DeploySettings
    environment: EnvironmentSettings
    state_dir: Path

    @property
    def label(self) -> str:
        """`staging (demo-staging)`: what messages call the target."""
        return f"{self.env or 'default'} ({self.compose.project})"

    @property
    def strategy(self) -> StrategyName:
        """The environment's strategy, else the deploy table's (in-place by default)."""
        return self.environment.strategy or self.settings.strategy

    @property
    def needs_confirmation(self) -> bool:
        """Production (or any environment with `confirm = true`) needs --yes or CI."""
        return self.env == PRODUCTION or self.environment.confirm


def validate_env_name(name: str) -> str:
    """`name` if it matches [a-z][a-z0-9-]*, else InvalidInputError."""
    return validate_name(
        "environment name",
        name,
        ENV_NAME,
        hint="environment names match [a-z][a-z0-9-]* (e.g. staging, production)",
    )


def project_slug(text: str) -> str:
    """A Compose project name from any text (lowercase letters, digits, '-', '_')."""
    slug = _PROJECT_CHARS.sub("-", text.lower()).strip("-_")
    return slug or "app"


def resolve_target(project: Project, env: str | None, tag: str | None = None) -> Target:
    """The compose target of `env` (None: the base compose files only)."""
    settings = project.settings.deploy
    environment = EnvironmentSettings()
    if env is not None:
        validate_env_name(env)
        if env not in settings.environments:
            known = ", ".join(sorted(settings.environments)) or "none configured"
            raise ConfigError(
                f"unknown environment {env!r} (known: {known})",
                hint="add [tool.conveyor.deploy.environments." + env + "] to pyproject.toml",
            )
        environment = settings.environments[env]
    variables = {settings.tag_variable: validate_tag(tag)} if tag is not None else {}
    base = project.root
    files = tuple(base / f for f in [*settings.compose_files, *environment.compose_files])
    if not files:
        raise ConfigError(
            "no compose files configured",
            hint="set compose-files in [tool.conveyor.deploy]",
        )
    env_file = environment.env_file or settings.env_file
    default_name = project_slug(settings.project or project.name)
    name = project_slug(environment.project or (f"{default_name}-{env}" if env else default_name))
    overlay = write_image_overlay(
        files,
        default_name,
        settings.tag_variable,
        base / settings.state_dir / IMAGES_DIR / f"{name}.yaml",
    )
    compose = ComposeTarget(
        files=files + ((overlay,) if overlay else ()),
        project=name,
        env_file=base / env_file if env_file else None,
        context=environment.context,
        variables=variables,
    )
    state = base / settings.state_dir / "deploy" / (env or "default") / compose.project
    return Target(
        env=env, compose=compose, settings=settings, environment=environment, state_dir=state
    )


def parse_seconds(option: str, text: str | None) -> float | None:
    """A non-negative number of seconds from the command line (None: use the config)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise InvalidInputError(
            f"--{option} {text!r} is not a number of seconds", hint=f"e.g. --{option} 30"
        )
    return value
