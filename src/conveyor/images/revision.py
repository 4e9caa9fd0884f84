"""From the checkout to tags: `<sha>` (or `<sha>-dirty`), the project version, `latest`.

A dirty tree never carries the clean commit's tag, nor the version: a version names a
release, and an uncommitted change is not one. The creation time of a clean build is the
commit's, so rebuilding a commit the cache already holds gives the same image ID.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from conveyor.config import PYPROJECT
from conveyor.errors import ConfigError
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.validate import validate_tag

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

DIRTY_SUFFIX = "-dirty"
LATEST = "latest"


@dataclass(frozen=True)
class Revision:
    """The source an image is built from: commit, origin, uncommitted changes, commit time."""

    sha: str | None
    source: str | None
    dirty: bool = False
    committed: datetime | None = None

    @property
    def tag(self) -> str | None:
        """`<sha>`, `<sha>-dirty` for a tree with changes, None outside git."""
        if self.sha is None:
            return None
        return self.sha + DIRTY_SUFFIX if self.dirty else self.sha


@dataclass(frozen=True)
class TagScheme:
    """The tags every image of one `inv build` gets.

    `movable` tags follow each build (the revision tag, `latest`); `pinned` ones (the
    version) name a release and never move to another image ID without `--force`.
    """

    movable: tuple[str, ...]
    pinned: tuple[str, ...]

    @property
    def primary(self) -> str:
        """The tag a deploy of this checkout uses (and the one `inv scan` looks for)."""
        return (*self.movable, *self.pinned)[0]


def git_revision(
    root: Path, runner: Runner = DEFAULT_RUNNER, *, own_output: Sequence[str] = ()
) -> Revision:
    """HEAD's short SHA, the origin URL, whether `root` has changes; None parts when unknown.

    `own_output` (Conveyor's state and reports directories) never makes a tree dirty, even
    where the project does not git-ignore them.
    """
    if shutil.which("git") is None:
        return Revision(None, None)

    def git(*args: str) -> str | None:
        done = runner.run(["git", *args], cwd=root, ok_codes=range(256), timeout=60)
        return done.stdout.strip() if done.returncode == 0 else None

    sha = git("rev-parse", "--short=12", "HEAD")
    if not sha:
        return Revision(None, None)
    remote = git("remote", "get-url", "origin")
    status = git("status", "--porcelain", "--", ".", *(f":(exclude){p}" for p in own_output))
    epoch = git("show", "-s", "--format=%ct", "HEAD")
    committed = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else None
    return Revision(
        sha=sha,
        source=public_url(remote) if remote else None,
        dirty=status is None or bool(status),
        committed=committed,
    )


def public_url(url: str) -> str:
    """`url` without user:token@, so no credential from a remote ever lands in an image label."""
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def project_version(root: Path) -> str | None:
    """`[project].version` from pyproject.toml (None when dynamic or absent)."""
    data = tomllib.loads((root / PYPROJECT).read_text(encoding="utf-8"))
    version = data.get("project", {}).get("version")
    return str(version) if version else None


def tag_scheme(revision: Revision, version: str | None, *, latest: bool) -> TagScheme:
    """The revision tag and `latest` (when configured) move; the version is pinned, and left
    out of a dirty build."""
    movable = [t for t in (revision.tag,) if t]
    pinned = [version] if version and not revision.dirty else []
    if latest:
        movable.append(LATEST)
    if not movable and not pinned:
        raise ConfigError(
            f"{PYPROJECT}: no tag for the images: not a git checkout and no [project] version",
            hint="set [project] version or build from a git checkout",
        )
    return TagScheme(
        movable=tuple(validate_tag(t) for t in movable),
        pinned=tuple(validate_tag(t) for t in pinned),
    )


def created_at(revision: Revision, now: datetime) -> datetime:
    """The commit time for a clean tree (reproducible), else `now`."""
    if revision.committed is not None and not revision.dirty:
        return revision.committed
    return now


def oci_labels(revision: Revision, version: str | None, created: datetime) -> dict[str, str]:
    """The org.opencontainers.image.* labels we know values for."""
    labels = {"org.opencontainers.image.created": created.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if revision.tag:
        labels["org.opencontainers.image.revision"] = revision.tag
    if revision.source:
        labels["org.opencontainers.image.source"] = revision.source
    if version:
        labels["org.opencontainers.image.version"] = version
    return labels
