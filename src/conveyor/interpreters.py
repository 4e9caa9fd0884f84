"""Find the installed Pythons a project needs before nox would skip one, and say where each is.

Nox looks for `pythonX.Y` on PATH (and in uv's own installs); a machine often has more than
that: pyenv keeps every version under `$PYENV_ROOT/versions` but puts only the `global` ones
on PATH, Debian ships `/usr/bin/python3.X`, uv installs under its data directory. Conveyor
looks in all of them, proves each candidate runs and reports the right version, and exposes
the ones it chose to nox through a directory of `pythonX.Y` links put first on PATH. A
version found nowhere is named with the command that installs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.cache_dir import user_cache_dir, write_atomically

PROBE = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
PROBE_TIMEOUT = 20
_VERSION_DIR = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
SHIM_DIRS = ("shims",)
"""Directories of version-manager shims (pyenv, asdf): scripts that fail for inactive versions."""
SYSTEM_DIRS = ("/usr/local/bin", "/usr/bin", "/opt/homebrew/bin")


@dataclass(frozen=True)
class Interpreter:
    """One usable interpreter: the version asked for, where it is, and how it was found."""

    version: str
    path: str
    full_version: str
    source: str

    def describe(self, home: str = "") -> str:
        """`3.9.18 (pyenv, ~/.pyenv/versions/3.9.18/bin/python3.9)`."""
        where = self.path
        if home and where.startswith(home + os.sep):
            where = "~" + where[len(home) :]
        return f"{self.full_version} ({self.source}, {where})"


@dataclass(frozen=True)
class Discovery:
    """What was found for each version asked for, and what was not."""

    found: tuple[Interpreter, ...]
    missing: tuple[str, ...]

    def for_version(self, version: str) -> Interpreter | None:
        return next((i for i in self.found if i.version == version), None)


def pyenv_root(env: Mapping[str, str]) -> Path:
    """`$PYENV_ROOT`, else pyenv's default `~/.pyenv`."""
    return Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")


def uv_python_dir(env: Mapping[str, str]) -> Path:
    """Where `uv python install` puts interpreters."""
    if env.get("UV_PYTHON_INSTALL_DIR"):
        return Path(env["UV_PYTHON_INSTALL_DIR"])
    data = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "uv" / "python"


def candidates(version: str, env: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(path, source) for every place `pythonX.Y` may live, in order of preference."""
    name = f"python{version}"
    escaped = re.escape(version)
    for entry in env.get("PATH", "").split(os.pathsep):
        if not entry:
            continue
        if Path(entry) == pyenv_root(env) / "shims":
            for active in pyenv_active(env):
                yield str(pyenv_root(env) / "versions" / active / "bin" / name), "pyenv, active"
        elif Path(entry).name not in SHIM_DIRS and not is_virtualenv(Path(entry).parent):
            yield str(Path(entry) / name), "PATH"
    versions = pyenv_root(env) / "versions"
    if versions.is_dir():
        pattern = re.compile(rf"^{escaped}\.(\d+)$")
        for path in _newest_patch(versions.iterdir(), pattern):
            yield str(path / "bin" / name), "pyenv"
    uv_dir = uv_python_dir(env)
    if uv_dir.is_dir():
        pattern = re.compile(rf"^cpython-{escaped}\.(\d+)-")
        for path in _newest_patch(uv_dir.iterdir(), pattern):
            yield str(path / "bin" / name), "uv"
    asdf = Path(env.get("ASDF_DATA_DIR") or Path.home() / ".asdf") / "installs" / "python"
    if asdf.is_dir():
        for path in _newest_patch(asdf.iterdir(), re.compile(rf"^{escaped}\.(\d+)$")):
            yield str(path / "bin" / name), "asdf"
    for directory in SYSTEM_DIRS:
        yield str(Path(directory) / name), "system"


def is_virtualenv(prefix: Path) -> bool:
    """True for a virtual environment (its `bin/` holds a copy or link, not an installation)."""
    return (prefix / "pyvenv.cfg").is_file()


def pyenv_active(env: Mapping[str, str], cwd: Path | None = None) -> list[str]:
    """The pyenv versions its shims run here: PYENV_VERSION, a `.python-version` up the tree,
    else the global `version` file (each may name several, in order)."""
    text = env.get("PYENV_VERSION", "").replace(":", "\n")
    if not text.strip():
        here = (cwd or Path.cwd()).resolve()
        for directory in (here, *here.parents):
            local = directory / ".python-version"
            if local.is_file():
                text = _read(local)
                break
        else:
            text = _read(pyenv_root(env) / "version")
    names = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [name for name in names if name and name != "system" and "/" not in name]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _newest_patch(paths: Iterable[Path], pattern: re.Pattern[str]) -> list[Path]:
    """Directories whose name matches `pattern` (one group: the patch), newest patch first."""
    keyed = []
    for path in paths:
        match = pattern.match(path.name)
        if match and path.is_dir():
            keyed.append((int(match.group(1)), path))
    return [path for _, path in sorted(keyed, reverse=True)]


class ProbeCache:
    """Versions reported by interpreters, remembered per file identity (path, size, mtime)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, str] | None = None
        self._dirty = False

    def _load(self) -> dict[str, str]:
        if self._data is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._data = {str(k): str(v) for k, v in raw.items()}
            except (OSError, ValueError, AttributeError):
                self._data = {}
        return self._data

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def put(self, key: str, value: str) -> None:
        self._load()[key] = value
        self._dirty = True

    def save(self) -> None:
        """Best effort: a read-only home only costs a probe next time."""
        if not self._dirty or self._data is None:
            return
        try:
            write_atomically(self.path, json.dumps(self._data, indent=1, sort_keys=True))
        except OSError:
            return


def _identity(path: str) -> str | None:
    try:
        real = os.path.realpath(path)
        info = os.stat(real)
    except OSError:
        return None
    if not os.access(real, os.X_OK) or not os.path.isfile(real):
        return None
    return f"{real}|{info.st_size}|{info.st_mtime_ns}"


def probe(path: str, cache: ProbeCache) -> str | None:
    """The `X.Y.Z` the interpreter at `path` reports, or None when it does not run."""
    identity = _identity(path)
    if identity is None:
        return None
    known = cache.get(identity)
    if known is not None:
        return known or None
    try:
        done = subprocess.run(
            [path, "-I", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    reported = done.stdout.strip() if done.returncode == 0 else ""
    if not _VERSION_DIR.match(reported):
        reported = ""
    cache.put(identity, reported)
    return reported or None


def locate(version: str, env: Mapping[str, str], cache: ProbeCache) -> Interpreter | None:
    """The first candidate for `version` that runs and reports that version."""
    seen: set[str] = set()
    for path, source in candidates(version, env):
        real = os.path.realpath(path)
        if real in seen or not os.path.exists(real):
            continue
        seen.add(real)
        reported = probe(path, cache)
        if reported is not None and reported.rsplit(".", 1)[0] == version:
            return Interpreter(version, path, reported, source)
    return None


def discover(
    versions: Sequence[str],
    env: Mapping[str, str] | None = None,
    cache_file: Path | None = None,
) -> Discovery:
    """Locate each of `versions` (in order, without repeats)."""
    environ = os.environ if env is None else env
    cache = ProbeCache(cache_file or user_cache_dir() / "interpreters.json")
    found: list[Interpreter] = []
    missing: list[str] = []
    for version in dict.fromkeys(versions):
        interpreter = locate(version, environ, cache)
        if interpreter is None:
            missing.append(version)
        else:
            found.append(interpreter)
    cache.save()
    return Discovery(tuple(found), tuple(missing))


def link_dir(links: Mapping[str, str], base: Path | None = None) -> Path:
    """A directory of links (name -> target), named after its content, so it is shared by
    every run that chose the same programs and never rewritten under a running one."""
    key = "\n".join(f"{name}={target}" for name, target in sorted(links.items()))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    directory = (base or user_cache_dir() / "pythons") / digest
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in links.items():
        link = directory / name
        if os.path.islink(link) and os.readlink(link) == target:
            continue
        scratch = directory / f".{name}.{os.getpid()}"
        scratch.unlink(missing_ok=True)
        os.symlink(target, scratch)
        os.replace(scratch, link)
    return directory


def expose(found: Sequence[Interpreter], environ: dict[str, str] | None = None) -> Path | None:
    """Put links to `found` first on PATH (of this process and what it starts), with the uv
    that runs us (`$UV`, set by `uv run`): a bare `uv` in a session or hook is then that one,
    whatever a version manager's shim would pick in another directory."""
    target = os.environ if environ is None else environ
    links = {f"python{i.version}": os.path.realpath(i.path) for i in found}
    uv = target.get("UV", "")
    if uv and os.path.isfile(uv):
        links["uv"] = os.path.realpath(uv)
    if not links:
        return None
    directory = link_dir(links)
    entries = [e for e in target.get("PATH", "").split(os.pathsep) if e and e != str(directory)]
    target["PATH"] = os.pathsep.join([str(directory), *entries])
    return directory


def install_hint(version: str, env: Mapping[str, str] | None = None) -> str:
    """The command that installs `version` here (pyenv when this machine uses it)."""
    environ = os.environ if env is None else env
    commands = [f"uv python install {version}"]
    if (pyenv_root(environ) / "bin" / "pyenv").exists() or "PYENV_ROOT" in environ:
        commands.append(f"pyenv install {version}")
    return " or ".join(f"`{c}`" for c in commands)


def missing_message(missing: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """One line: which versions were looked for where, and how to install each."""
    environ = os.environ if env is None else env
    places = f"PATH, {pyenv_root(environ)}/versions, {uv_python_dir(environ)}, /usr/bin"
    fixes = "; ".join(f"{v}: {install_hint(v, environ)}" for v in missing)
    return (
        f"conveyor: Python {', '.join(missing)} not found (looked on {places}); their sessions "
        f"fail. Install {fixes}; or remove the version from [tool.conveyor] python"
    )
