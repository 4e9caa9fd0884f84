"""Skip a session whose inputs are unchanged since its last successful run.

Each session declares what can change its result (`Inputs`): the files it reads, the
dependency groups it installs, whether its answer depends on today's date. With the
interpreter, its arguments, the environment variables its tools read, `[tool.conveyor] env`
and Conveyor's own code, they make the session's fingerprint. A success stores the
fingerprint, a one-line summary and copies of the files later sessions read (coverage data,
JUnit XML); a run whose fingerprint matches prints "unchanged since TIME" with that summary
and puts those files back. A failure is never stored and deletes the record, so a red session
always runs again.

Everything lives in one directory, `.conveyor/cache/` under the project (git-ignored), which
CI may keep between runs: a record only ever matches the exact inputs it was made from.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import conveyor
from conveyor.cache_dir import write_atomically
from conveyor.fingerprint import FileHashes, LockedGroups, digest

CACHE_DIR = ".conveyor/cache"
LOCKFILE = "uv.lock"
FORCE_VARIABLE = "CONVEYOR_FORCE"
ALWAYS_READ = ("pyproject.toml", "noxfile.py")
"""Every session reads its configuration (and the noxfile that registers it)."""
TOOL_VARIABLE_PREFIXES = (
    "PYTEST_",  # PYTEST_ADDOPTS can deselect the very test that fails
    "COVERAGE_",
    "PYTHON",  # PYTHONPATH (coverage plugins, conftest imports), PYTHONHASHSEED, PYTHONWARNINGS
    "RUFF_",
    "MYPY",
    "UV_",  # the index and the resolution a sync installs from
    "PIP_",
    "HYPOTHESIS_",
)
TOOL_VARIABLES = ("CI", "GITHUB_ACTIONS", "TZ", "LANG", "LC_ALL")
"""Also in the fingerprint: under CI a missing tool fails where it skips locally."""
VOLATILE_VARIABLES = ("UV_RUN_RECURSION_DEPTH", "PYTEST_CURRENT_TEST")
"""Set by the program that started nox (`uv run`; a test of pytest's), not read by a session's
tools: they change no result."""


@dataclass(frozen=True)
class Inputs:
    """What a session's result depends on, besides its Python, arguments and environment."""

    paths: tuple[str, ...] = (".",)
    groups: tuple[str, ...] = ()
    with_project: bool = False
    extras: tuple[str, ...] = ()  # the project's extras it installs (with the project)
    outputs: tuple[str, ...] = ()
    daily: bool = False
    cacheable: bool = True

    def outputs_of(self, session: str) -> list[str]:
        """The output patterns of one run (`{session}` is the session's name, e.g. tests-3.12;
        a pattern may end in `*`, as coverage's parallel data files do)."""
        return [path.replace("{session}", session) for path in self.outputs]


@dataclass(frozen=True)
class Record:
    """The last successful run of one session."""

    fingerprint: str
    finished: str
    summary: str
    outputs: Mapping[str, str] = field(default_factory=dict)

    def when(self) -> str:
        """The finish time for humans (UTC, to the minute)."""
        return self.finished.replace("T", " ")[:16] + " UTC"


def conveyor_code() -> str:
    """Conveyor's own code identity: a changed (or upgraded, or edited) Conveyor re-runs all."""
    package = Path(conveyor.__file__).parent
    stamps = []
    for directory, subdirs, names in os.walk(package):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")  # bytecode of every Python
        for name in sorted(n for n in names if n.endswith((".py", ".tmpl"))):
            path = Path(directory, name)
            info = path.stat()
            stamps.append((path.relative_to(package).as_posix(), info.st_size, info.st_mtime_ns))
    return digest(conveyor.__version__, stamps)


class ResultCache:
    """Records of successful session runs under `<root>/.conveyor/cache/`."""

    def __init__(self, root: Path, project_name: str, *, reports_dir: str = "reports") -> None:
        self.root = root
        self.project_name = project_name
        self.directory = root / CACHE_DIR
        # What sessions write is never what they read; the lock counts per group instead.
        excluded = (reports_dir, CACHE_DIR, ".nox", ".tox", ".venv", LOCKFILE)
        self.files = FileHashes(root, self.directory / "files.json", excluded=excluded)
        self.groups = LockedGroups(root / LOCKFILE, self.directory / "groups.json")
        self._code: str | None = None

    def fingerprint(
        self,
        session: str,
        inputs: Inputs,
        *,
        interpreter: str,
        posargs: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        today: str | None = None,
    ) -> str:
        """Everything that can change `session`'s result, hashed."""
        if self._code is None:
            self._code = conveyor_code()
        parts: dict[str, Any] = {
            "session": session,
            "conveyor": self._code,
            "python": interpreter,
            "files": self.files.tree([*inputs.paths, *ALWAYS_READ]),
            "locked": self.groups.hash(
                self.project_name,
                inputs.groups,
                with_project=inputs.with_project,
                extras=inputs.extras,
            ),
            "posargs": list(posargs),
            "env": sorted((env or {}).items()),
        }
        if inputs.daily:
            parts["day"] = today or datetime.now(timezone.utc).date().isoformat()
        self.files.save()
        return digest(parts)

    def _record_path(self, session: str) -> Path:
        return self.directory / "sessions" / f"{session}.json"

    def _copies(self, session: str) -> Path:
        return self.directory / "sessions" / session

    def lookup(self, session: str, fingerprint: str) -> Record | None:
        """The record of a successful run with this fingerprint, its outputs restored."""
        try:
            data = json.loads(self._record_path(session).read_text(encoding="utf-8"))
            record = Record(**data)
        except (OSError, ValueError, TypeError):
            return None
        if record.fingerprint != fingerprint:
            return None
        for relative, sha in record.outputs.items():
            if not self._restore(session, relative, sha):
                return None
        return record

    def clear_strays(self, record: Record, patterns: Sequence[str]) -> None:
        """Remove files matching the output patterns that the recorded run did not write
        (e.g. data of a later run that failed), so readers see exactly that run's outputs."""
        for relative in self._expand(patterns):
            if relative not in record.outputs:
                (self.root / relative).unlink(missing_ok=True)

    def _expand(self, patterns: Sequence[str]) -> list[str]:
        found: list[str] = []
        for pattern in patterns:
            if "*" in pattern:
                found += sorted(str(p.relative_to(self.root)) for p in self.root.glob(pattern))
            else:
                found.append(pattern)
        return found

    def _restore(self, session: str, relative: str, sha: str) -> bool:
        """Make `relative` hold the content it had after the recorded run."""
        if self.files.of(relative) == sha:
            return True
        copy = self._copies(session) / relative
        if not copy.is_file():
            return False
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(copy, target)
        return self.files.of(relative) == sha

    def store(self, session: str, fingerprint: str, summary: str, outputs: Sequence[str]) -> None:
        """Remember a successful run and keep copies of its outputs."""
        copies = self._copies(session)
        shutil.rmtree(copies, ignore_errors=True)
        kept: dict[str, str] = {}
        for relative in self._expand(outputs):
            source = self.root / relative
            if source.is_file():
                (copies / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copies / relative)
                kept[relative] = self.files.of(relative)
        record = Record(
            fingerprint=fingerprint,
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            summary=summary,
            outputs=kept,
        )
        path = self._record_path(session)
        self.directory.mkdir(parents=True, exist_ok=True)
        ignore = self.directory / ".gitignore"
        if not ignore.is_file():  # like nox's .nox/: never committed, never an input
            ignore.write_text("*\n", encoding="utf-8")
        write_atomically(path, json.dumps(record.__dict__, indent=1))
        self.files.save()

    def forget(self, session: str) -> None:
        """Drop the record: the next run of `session` runs for real."""
        self._record_path(session).unlink(missing_ok=True)
        shutil.rmtree(self._copies(session), ignore_errors=True)


def environment_inputs(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of nox's environment that sessions inherit and that can change their
    result: the tools' own (pytest, coverage, Python, ruff, mypy, uv, pip) and CI's."""
    environ = os.environ if environ is None else environ
    return {
        name: value
        for name, value in environ.items()
        if (name.startswith(TOOL_VARIABLE_PREFIXES) or name in TOOL_VARIABLES)
        and name not in VOLATILE_VARIABLES
    }


def forced(env: Mapping[str, str] | None = None) -> bool:
    """True when `CONVEYOR_FORCE` asks every session to run (any value but empty/0/false)."""
    value = (os.environ if env is None else env).get(FORCE_VARIABLE, "")
    return value.lower() not in ("", "0", "false", "no")
