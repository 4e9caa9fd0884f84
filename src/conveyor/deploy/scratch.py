"""Private scratch space for one deploy run: the compose files Compose is given.

A restored release's compose files (copies of the recorded ones) and the overlay that pins
images and labels fingerprints are files Compose must read. They hold no secret, yet they
are kept private anyway: a 0700 directory under the state directory, files 0600, the state
directory git-ignored by its own `.gitignore`, everything removed when the run ends.
Directories left by a run that was killed outright are removed by the next run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath
from types import TracebackType

from conveyor.errors import ConfigError

LEFTOVER_SECONDS = 24 * 3600
RUN_PREFIX = "run-"


def ensure_ignored(state_root: Path) -> None:
    """Create the state directory with a `.gitignore` that ignores all of it."""
    state_root.mkdir(parents=True, exist_ok=True)
    marker = state_root / ".gitignore"
    if not marker.exists():
        marker.write_text("# Conveyor's scratch space: never commit it.\n*\n", encoding="utf-8")


def safe_relative(path: str) -> PurePosixPath:
    """A relative path that stays inside the directory it is joined to."""
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ConfigError(
            f"release record names compose file {path!r}, which leaves the project",
            hint="the ledger entry was not written by Conveyor; pick another release",
        )
    return relative


class Scratch:
    """`with Scratch(state_root, state_dir) as scratch: scratch.write("a/b.yaml", text)`."""

    def __init__(self, state_root: Path, state_dir: Path) -> None:
        self.state_root = state_root
        self.state_dir = state_dir
        self.path: Path | None = None

    def __enter__(self) -> Scratch:
        ensure_ignored(self.state_root)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        self.path = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=self.state_dir))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None

    def write(self, relative: str, text: str) -> Path:
        """Write a 0600 file at `relative` inside the run's directory."""
        if self.path is None:
            raise RuntimeError("Scratch used outside its `with` block")
        target = self.path.joinpath(*safe_relative(relative).parts)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return target

    def _remove_leftovers(self) -> None:
        cutoff = time.time() - LEFTOVER_SECONDS
        for entry in self.state_dir.glob(RUN_PREFIX + "*"):
            try:
                if entry.is_dir() and entry.stat().st_mtime < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                continue
