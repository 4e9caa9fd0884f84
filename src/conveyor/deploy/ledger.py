"""The release ledger: which images ran on a target, when, from which commit, deployed by whom.

It lives on the target's Docker engine, not on the machine that deploys: each release is a
small labelled volume (`conveyor-release-<project>-<id>`) whose labels hold the record. A
record holds no secret, yet restores the release exactly: per service the image and its ID,
the compose files as written (not interpolated; paths relative to the project), the names
of the env files (never their contents), the tag variable and the git sha. A restore renders
those files again with today's env files. A later `inv releases` or
`inv rollback` from another machine (a fresh CI runner on the same DOCKER_HOST or context)
reads the same ledger; volumes need no image, and one `volume ls` + `volume inspect` lists
them. Records are written while the deploy lock is held, one create per release.
There is deliberately no local file fallback: a second copy could only disagree with the
engine. Caveat: `docker volume prune` on engines before 23.0 removes unused named volumes,
the ledger with them; exclude it with `--filter label!=io.conveyor.ledger`.
"""

from __future__ import annotations

import base64
import getpass
import gzip
import os
import socket
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal, Optional, Protocol

import msgspec

from conveyor.deploy.plan import COLOUR_LABEL
from conveyor.errors import ConfigError
from conveyor.tools.compose import ContainerState, EngineRecord

Outcome = Literal["observed", "deployed", "failed", "rolled-back"]
GOOD_OUTCOMES = ("observed", "deployed", "rolled-back")
PROJECT_LABEL = "io.conveyor.ledger"
ENV_LABEL = "io.conveyor.ledger.env"
ID_LABEL = "io.conveyor.ledger.release"
RECORD_LABEL = "io.conveyor.ledger.record"
VOLUME_PREFIX = "conveyor-release-"
PLAIN_RECORD_MAX = 64_000  # Linux caps one argv string at 128 KiB
GZIP_PREFIX = "gzip+base64:"


class ServiceImage(msgspec.Struct, frozen=True, kw_only=True):
    """The image one service ran: the reference compose used and the image ID behind it."""

    image: str
    image_id: str


class ComposeFile(msgspec.Struct, frozen=True, kw_only=True):
    """One compose file as written: its path relative to the project, and its text."""

    path: str
    text: str


class Release(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the ledger (records of older versions load without their extra keys)."""

    id: int
    env: str
    project: str
    services: dict[str, ServiceImage]
    git_sha: Optional[str] = None
    created_at: str
    by: str
    outcome: Outcome
    note: str = ""
    # msgspec copies empty list and dict defaults for each instance.
    compose_files: list[ComposeFile] = []
    env_files: list[str] = []  # names only, relative to the project
    variables: dict[str, str] = {}  # the tag variable, never secrets
    restored_from: Optional[int] = None  # the release a rollback brought back
    colours: dict[str, str] = {}  # service -> colour that served it

    def same_images(self, services: Mapping[str, ServiceImage]) -> bool:
        """True when `services` run exactly this release's image IDs."""
        return {k: v.image_id for k, v in self.services.items()} == {
            k: v.image_id for k, v in services.items()
        }


@dataclass(frozen=True)
class ReleaseSource:
    """Where a release's configuration comes from: compose files as written, env file names,
    the variables Conveyor sets (the tag). Nothing in it is a secret."""

    compose_files: tuple[ComposeFile, ...] = ()
    env_files: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, release: Release) -> ReleaseSource:
        return cls(tuple(release.compose_files), tuple(release.env_files), release.variables)


def running_images(containers: list[ContainerState]) -> dict[str, ServiceImage]:
    """Service -> image of the containers that are up (what is live right now)."""
    live: dict[str, ServiceImage] = {}
    for container in sorted(containers, key=lambda c: c.name):
        if container.status in ("running", "restarting") or container.service not in live:
            live[container.service] = ServiceImage(
                image=container.image, image_id=container.image_id
            )
    return live


def colours(containers: Sequence[ContainerState]) -> dict[str, str]:
    """Service -> the colour label of its serving container (blue-green deploys set one)."""
    return {
        c.service: c.labels[COLOUR_LABEL]
        for c in sorted(containers, key=lambda c: c.name)
        if COLOUR_LABEL in c.labels
    }


def deployer() -> str:
    """Who deploys: the CI actor when known, else user@host."""
    actor = os.environ.get("GITHUB_ACTOR")
    try:
        user = actor or getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def record_labels(release: Release) -> dict[str, str]:
    """The labels of the volume that stores `release`.

    The record is plain JSON (readable with `docker volume inspect`) unless it would be too
    long for one command-line argument; then it is stored gzipped.
    """
    record = msgspec.json.encode(release).decode("utf-8")
    if len(record) > PLAIN_RECORD_MAX:
        packed = base64.b64encode(gzip.compress(record.encode("utf-8"), mtime=0))
        record = GZIP_PREFIX + packed.decode("ascii")
    return {
        PROJECT_LABEL: release.project,
        ENV_LABEL: release.env,
        ID_LABEL: str(release.id),
        RECORD_LABEL: record,
    }


def parse_record(volume: EngineRecord) -> Release:
    """The release a ledger volume stores; ConfigError naming the volume when unreadable."""
    try:
        record = volume.labels.get(RECORD_LABEL, "")
        if record.startswith(GZIP_PREFIX):  # JSON never starts so
            packed = base64.b64decode(record[len(GZIP_PREFIX) :], validate=True)
            record = gzip.decompress(packed).decode("utf-8")
        return msgspec.json.decode(record, type=Release)
    except (msgspec.DecodeError, ValueError, OSError, EOFError, zlib.error) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(
            f"volume {volume.name}: unreadable release record ({first})",
            hint=f"inspect it with `docker volume inspect {volume.name}`; "
            "remove it to drop that entry from the ledger",
        ) from None


def live_release(
    releases: Sequence[Release], services: Mapping[str, ServiceImage]
) -> Release | None:
    """The newest good release whose images are the ones running now."""
    for release in reversed(releases):
        if release.outcome in GOOD_OUTCOMES and release.same_images(services):
            return release
    return None


class LedgerStore(Protocol):
    """Where records live: labelled volumes of one engine (`Compose`), or configs of a swarm
    (`conveyor.deploy.swarm_runtime.SwarmRuntime`). Either way, one create per record."""

    def volumes(self, label: str) -> list[EngineRecord]:
        """Every record carrying `label` (`key=value`)."""
        ...

    def create_volume(self, name: str, labels: Mapping[str, str]) -> EngineRecord:
        """Create a record; the record as stored (an existing name keeps its old labels)."""
        ...


class Ledger:
    """Reads and appends the releases of one compose project (or swarm stack) on its engine."""

    def __init__(self, engine: LedgerStore, *, env: str, project: str) -> None:
        self.engine = engine
        self.env = env
        self.project = project

    def volume_name(self, release_id: int) -> str:
        return f"{VOLUME_PREFIX}{self.project}-{release_id:06d}"

    def releases(self) -> list[Release]:
        """Every recorded release, oldest first."""
        volumes = self.engine.volumes(f"{PROJECT_LABEL}={self.project}")
        return sorted((parse_record(v) for v in volumes), key=lambda r: r.id)

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
        return live_release(self.releases(), services)

    def record(
        self,
        services: Mapping[str, ServiceImage],
        *,
        outcome: Outcome,
        git_sha: str | None,
        note: str = "",
        source: ReleaseSource | None = None,
        restored_from: int | None = None,
        colours: Mapping[str, str] | None = None,
    ) -> Release:
        """Append a release: one new labelled volume on the target's engine."""
        source = source or ReleaseSource()
        release = Release(
            id=max((r.id for r in self.releases()), default=0) + 1,
            env=self.env,
            project=self.project,
            services=dict(services),
            git_sha=git_sha,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            by=deployer(),
            outcome=outcome,
            note=note,
            compose_files=list(source.compose_files),
            env_files=list(source.env_files),
            variables=dict(source.variables),
            restored_from=restored_from,
            colours=dict(colours or {}),
        )
        labels = record_labels(release)
        name = self.volume_name(release.id)
        stored = self.engine.create_volume(name, labels)
        if dict(stored.labels) != labels:  # the name existed: another writer got there first
            raise ConfigError(
                f"release ledger of {self.project}: volume {name} already holds another record",
                hint="another deploy wrote the ledger without the deploy lock; run "
                f"`inv releases --env {self.env}` and deploy again",
            )
        return release
