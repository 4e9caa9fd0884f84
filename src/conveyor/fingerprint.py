"""Fingerprints of what a check reads: file contents and the locked packages it installs.

A fingerprint must change whenever the result could: file hashes are by content (memoised
per path, size and mtime, like git's index, so an unchanged tree costs one `stat` per file),
file lists come from git (tracked plus untracked-but-not-ignored, so a new test counts), and a
dependency group is hashed as the closure of packages `uv.lock` pins for it, so a lock change
re-runs exactly the checks whose group changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

from conveyor.cache_dir import write_atomically

SKIPPED_DIRS = frozenset(
    {".git", ".nox", ".tox", ".venv", "venv", "__pycache__", ".mypy_cache", ".ruff_cache",
     ".pytest_cache", "node_modules", ".conveyor", "build", "dist", "htmlcov"}
)  # fmt: skip
"""Never inputs, in a tree without git (with git, .gitignore decides)."""
CHUNK = 1 << 20


def digest(*parts: object) -> str:
    """A short stable hash of `parts` (their JSON form)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class FileHashes:
    """Content hashes of files under `root`, remembered per (path, size, mtime) in `memo`.

    `excluded` paths (relative files or directories) are never part of a tree listing: what
    the checks write (reports, caches, environments) must not change what they read. A path
    named explicitly (or matched by a glob) is still an input.
    """

    def __init__(self, root: Path, memo: Path, excluded: Sequence[str] = ()) -> None:
        self.root = root
        self.memo = memo
        self.excluded = tuple(e.strip("/") for e in excluded)
        self._known: dict[str, list[Any]] | None = None
        self._dirty = False
        self._listing: list[str] | None = None

    def _load(self) -> dict[str, list[Any]]:
        if self._known is None:
            try:
                data = json.loads(self.memo.read_text(encoding="utf-8"))
                self._known = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._known = {}
        return self._known

    def of(self, relative: str) -> str:
        """The content hash of one file ('-' when it does not exist)."""
        path = self.root / relative
        try:
            info = path.stat()
        except OSError:
            return "-"
        known = self._load().get(relative)
        stamp = [info.st_size, info.st_mtime_ns]
        if known is not None and known[:2] == stamp:
            return str(known[2])
        sha = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                sha.update(block)
        value = sha.hexdigest()[:32]
        self._load()[relative] = [*stamp, value]
        self._dirty = True
        return value

    def files(self) -> list[str]:
        """Every input candidate of the tree, relative, sorted (git's view when in a repo)."""
        if self._listing is None:
            listing = _git_files(self.root)
            if listing is None:
                listing = _walk_files(self.root)
            self._listing = [f for f in listing if not self._excluded(f)]
        return self._listing

    def _excluded(self, name: str) -> bool:
        return any(name == e or name.startswith(e + "/") for e in self.excluded)

    def under(self, paths: Iterable[str]) -> list[str]:
        """The files at or below each of `paths` (relative to the root; '.' is everything)."""
        prefixes = [p.strip("/") for p in paths if "*" not in p]
        matched = {
            str(found.relative_to(self.root))
            for pattern in paths
            if "*" in pattern
            for found in self.root.glob(pattern)
            if found.is_file()
        }
        if "." in prefixes or "" in prefixes:
            return sorted(set(self.files()) | matched)
        chosen = [f for f in self.files() if any(f == p or f.startswith(p + "/") for p in prefixes)]
        explicit = {p for p in prefixes if (self.root / p).is_file()}
        return sorted(set(chosen) | explicit | matched)

    def tree(self, paths: Iterable[str]) -> str:
        """One hash for the names and contents of every file under `paths`."""
        return digest([(name, self.of(name)) for name in self.under(paths)])

    def save(self) -> None:
        """Best effort: a read-only tree only costs hashing again next time."""
        if not self._dirty or self._known is None:
            return
        try:
            write_atomically(self.memo, json.dumps(self._known))
            self._dirty = False
        except OSError:
            return


def _git_files(root: Path) -> list[str] | None:
    """Tracked and untracked-not-ignored files, or None outside a git work tree."""
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"],
            capture_output=True,
            check=False,
            timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    names = {n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n}
    return sorted(n for n in names if (root / n).is_file())


def _walk_files(root: Path) -> list[str]:
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
        base = Path(directory).relative_to(root)
        found += [str(base / f) if str(base) != "." else f for f in files if not f.endswith(".pyc")]
    return sorted(found)


class LockedGroups:
    """Hashes of the package closures `uv.lock` pins for dependency groups and the project."""

    def __init__(self, lock: Path, memo: Path) -> None:
        self.lock = lock
        self.memo = memo
        self._data: dict[str, Any] | None = None

    def hash(
        self,
        project: str,
        groups: Sequence[str],
        *,
        with_project: bool,
        extras: Sequence[str] = (),
    ) -> str:
        """The closure of `groups` (plus the project's runtime deps when `with_project`, and
        its `extras`)."""
        try:
            raw = self.lock.read_bytes()
        except OSError:
            return "no-lock"
        lock_hash = hashlib.sha256(raw).hexdigest()[:32]
        key = digest(
            project, sorted(groups), with_project, *(["extras", sorted(extras)] if extras else [])
        )
        memo = self._memo()
        cached = memo.get(lock_hash, {}).get(key)
        if isinstance(cached, str):
            return cached
        if self._data is None:
            self._data = tomllib.loads(raw.decode("utf-8"))
        value = digest(
            closure(self._data, project, groups, with_project=with_project, extras=extras)
        )
        self._store(lock_hash, key, value)
        return value

    def _memo(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.memo.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _store(self, lock_hash: str, key: str, value: str) -> None:
        memo = self._memo()
        entries = memo.get(lock_hash, {})
        entries[key] = value
        try:
            write_atomically(self.memo, json.dumps({lock_hash: entries}))
        except OSError:
            return


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def closure(
    lock: Mapping[str, Any],
    project: str,
    groups: Sequence[str],
    *,
    with_project: bool,
    extras: Sequence[str] = (),
) -> list[str]:
    """`name==version` of every package the groups (and the project, with `extras`) pull in,
    sorted."""
    packages: dict[str, list[Mapping[str, Any]]] = {}
    for package in lock.get("package", []):
        packages.setdefault(_canonical(str(package.get("name", ""))), []).append(package)
    root = next(iter(packages.get(_canonical(project), [])), None)
    if root is None:
        return []
    wanted: list[Mapping[str, Any]] = []
    if with_project:
        wanted += list(root.get("dependencies", []))
    for group in groups:
        wanted += list(root.get("dev-dependencies", {}).get(group, []))
    for extra in extras:
        wanted += list(root.get("optional-dependencies", {}).get(extra, []))
    seen: set[str] = set()
    while wanted:
        ref = wanted.pop()
        for package in _resolve(packages, ref):
            label = f"{package.get('name')}=={package.get('version')}"
            if label in seen:
                continue
            seen.add(label)
            wanted += list(package.get("dependencies", []))
            for extra in ref.get("extra", []):
                wanted += list(package.get("optional-dependencies", {}).get(extra, []))
    return sorted(seen)


def _resolve(
    packages: Mapping[str, list[Mapping[str, Any]]], ref: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The lock entries a dependency reference points at (all forks when it names no version)."""
    candidates = packages.get(_canonical(str(ref.get("name", ""))), [])
    version = ref.get("version")
    if version is None:
        return candidates
    return [p for p in candidates if p.get("version") == version]
