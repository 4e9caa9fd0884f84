"""Where Conveyor keeps what it learns about this machine (tool versions, interpreters), and
how its caches are written."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/conveyor`, else `~/.cache/conveyor`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conveyor"


def write_atomically(path: Path, text: str) -> None:
    """Write `path` whole or not at all: readers in other processes (parallel sessions,
    scans two at a time) never see half a file. Raises OSError like any write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    scratch.write_text(text, encoding="utf-8")
    scratch.replace(path)
