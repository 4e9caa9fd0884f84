"""The CI matrix (session x Python) from `nox -l --json`, so a new session needs no YAML edit."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conveyor.errors import ToolFailedError
from conveyor.runner import DEFAULT_RUNNER, Runner

PIPELINE_TAG = "pipeline"


def list_sessions(root: Path, noxfile: str = "noxfile.py", runner: Runner = DEFAULT_RUNNER) -> str:
    """`nox -l --json -t pipeline`: every pipeline session, default or not, with its Python."""
    argv = [sys.executable, "-m", "nox", "-l", "--json", "-t", PIPELINE_TAG, "-f", noxfile]
    return runner.run(argv, cwd=root, tool="nox", timeout=300).stdout


def build_matrix(
    listing: str, *, exclude: Sequence[str] = (), default_python: str = "3.12"
) -> dict[str, list[dict[str, str]]]:
    """`{"include": [{"session": ..., "python": ...}]}` for every listed session not excluded."""
    try:
        sessions: Any = json.loads(listing)
    except ValueError:
        raise ToolFailedError(
            f"nox -l --json: not JSON: {listing.strip()[:120]!r}",
            hint="run `nox -l --json` yourself to see what the noxfile prints",
        ) from None
    if not isinstance(sessions, list):
        raise ToolFailedError("nox -l --json: expected a list of sessions")
    include = []
    for entry in sessions:
        if entry["name"] in exclude or entry["session"] in exclude:
            continue
        python = entry.get("python")
        include.append(
            {
                "session": str(entry["session"]),
                "python": python if isinstance(python, str) else default_python,
            }
        )
    return {"include": include}


def publish(matrix: dict[str, list[dict[str, str]]], output: str | None = None) -> str:
    """Print the matrix as JSON and, in GitHub Actions, set the step output `matrix`."""
    text = json.dumps(matrix, separators=(",", ":"))
    path = output if output is not None else os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"matrix={text}\n")
    print(text, flush=True)
    return text
