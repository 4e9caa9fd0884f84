"""The release ledger: which images ran on a target, when, from which commit, deployed by whom.

One JSON file per target under the state directory, rewritten atomically (write + rename)
while the deploy lock is held, so it survives the deploying process and never half-writes.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conveyor.errors import ConfigError
from conveyor.tools.compose import ContainerState

Outcome = Literal["observed", "deployed", "failed", "rolled-back"]
GOOD_OUTCOMES = ("observed", "deployed", "rolled-back")
LEDGER_FILE = "releases.json"


class ServiceImage(BaseModel):
    """The image one service ran: the reference compose used and the image ID behind it."""

    model_config = ConfigDict(frozen=True)

    image: str
    image_id: str


class Release(BaseModel):
    """One entry of the ledger."""

    model_config = ConfigDict(frozen=True)

    id: int
    env: str
    project: str
    services: dict[str, ServiceImage]
    git_sha: str | None = None
    created_at: str
    by: str
    outcome: Outcome
    note: str = ""

    def same_images(self, services: Mapping[str, ServiceImage]) -> bool:
        """True when `services` run exactly this release's image IDs."""
        return {k: v.image_id for k, v in self.services.items()} == {
            k: v.image_id for k, v in services.items()
        }


class LedgerFile(BaseModel):
    """The file format (versioned, so it can evolve)."""

    version: int = 1
    releases: list[Release] = Field(default_factory=list)


def running_images(containers: list[ContainerState]) -> dict[str, ServiceImage]:
    """Service -> image of the containers that are up (what is live right now)."""
    live: dict[str, ServiceImage] = {}
    for container in sorted(containers, key=lambda c: c.name):
        if container.status in ("running", "restarting") or container.service not in live:
            live[container.service] = ServiceImage(
                image=container.image, image_id=container.image_id
            )
    return live


def deployer() -> str:
    """Who deploys: the CI actor when known, else user@host."""
    actor = os.environ.get("GITHUB_ACTOR")
    try:
        user = actor or getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


class Ledger:
    """Reads and appends the releases of one target."""

    def __init__(self, state_dir: Path, *, env: str, project: str) -> None:
        self.path = state_dir / LEDGER_FILE
        self.env = env
        self.project = project

    def releases(self) -> list[Release]:
        """Every recorded release, oldest first."""
        if not self.path.is_file():
            return []
        try:
            return LedgerFile.model_validate_json(self.path.read_text(encoding="utf-8")).releases
        except (ValidationError, ValueError) as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(
                f"{self.path}: unreadable release ledger: {first}",
                hint="restore it from a backup, or move it away to start a new ledger",
            ) from None

    def get(self, release_id: int) -> Release:
        for release in self.releases():
            if release.id == release_id:
                return release
        raise ConfigError(
            f"release {release_id} is not in the ledger of {self.env} ({self.project})",
            hint="list them with `inv releases --env " + self.env + "`",
        )

    def live(self, services: Mapping[str, ServiceImage]) -> Release | None:
        """The newest good release whose images are the ones running now."""
        for release in reversed(self.releases()):
            if release.outcome in GOOD_OUTCOMES and release.same_images(services):
                return release
        return None

    def record(
        self,
        services: Mapping[str, ServiceImage],
        *,
        outcome: Outcome,
        git_sha: str | None,
        note: str = "",
    ) -> Release:
        """Append a release and rewrite the file atomically."""
        existing = self.releases()
        release = Release(
            id=max((r.id for r in existing), default=0) + 1,
            env=self.env,
            project=self.project,
            services=dict(services),
            git_sha=git_sha,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            by=deployer(),
            outcome=outcome,
            note=note,
        )
        data = LedgerFile(releases=[*existing, release])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(data.model_dump(), indent=2) + "\n", encoding="utf-8")
        os.replace(scratch, self.path)
        return release
