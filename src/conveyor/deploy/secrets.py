"""Which values a deploy must never print: what it can tell is a secret, from what it reads.

The ledger and reports hold no env value at all; this is the second line, for command
lines and error output (`Runner.secrets`). A value is masked when it is the content of a
file-based Docker secret, the value of a variable whose name says secret (PASSWORD, TOKEN,
KEY, ...) in the env file or a service's environment, or the password part of a URL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

SECRET_NAME = re.compile(
    r"PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE|SALT|DSN|SIGNATURE", re.IGNORECASE
)
URL_PASSWORD = re.compile(r"://[^/\s:@]*:([^@\s/]+)@")
VARIABLE_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
MIN_LENGTH = 4
MAX_SECRET_FILE = 64 * 1024


def secret_like(name: str, value: str) -> list[str]:
    """The parts of `value` to mask given its variable's name."""
    found = [value] if SECRET_NAME.search(name) else []
    found += URL_PASSWORD.findall(value)
    return [v for v in found if len(v) >= MIN_LENGTH]


def env_file_secrets(path: Path | None) -> set[str]:
    """Secret-looking values of a compose `--env-file`."""
    if path is None or not path.is_file():
        return set()
    values = dotenv_values(path, interpolate=False)
    return {s for k, v in values.items() if v for s in secret_like(k, v)}


def _environment(body: Mapping[str, Any]) -> dict[str, str]:
    env = body.get("environment") or {}
    if isinstance(env, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in env.items()}
    pairs = (str(item).partition("=") for item in env)
    return {k: v for k, _, v in pairs}


def config_secrets(document: Mapping[str, Any]) -> set[str]:
    """Secrets in a rendered configuration: secret-named environment values (env_file
    values are inlined there), URL passwords, and the contents of file-based secrets."""
    found: set[str] = set()
    for body in (document.get("services") or {}).values():
        for key, value in _environment(body or {}).items():
            found.update(secret_like(key, value))
    for definition in (document.get("secrets") or {}).values():
        source = (definition or {}).get("file")
        if source:
            found.update(_file_secret(Path(str(source))))
    return found


def _file_secret(path: Path) -> set[str]:
    try:
        if path.stat().st_size > MAX_SECRET_FILE:
            return set()
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    secret = text.strip()
    return {secret} if len(secret) >= MIN_LENGTH else set()


def environ_secrets(texts: Iterable[str], environ: Mapping[str, str] | None = None) -> set[str]:
    """Secret-named variables of this process that the compose files interpolate."""
    environ = os.environ if environ is None else environ
    names = {name for text in texts for name in VARIABLE_REFERENCE.findall(text)}
    return {s for n in names if n in environ for s in secret_like(n, environ[n])}
