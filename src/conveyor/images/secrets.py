"""The values one `inv build` must never print: credentials in its build args and env files.

They go into the runner's `secrets`, so every command line, streamed build line and error
the build prints is masked (see `conveyor.masking` for what counts as a credential).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from conveyor.masking import secrets_in, secrets_of


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines of a compose env file, as written (comments, blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#") and "=" in text:
            key, _, value = text.removeprefix("export ").partition("=")
            values[key.strip()] = value.strip()
    return values


def environment_secrets(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> set[str]:
    """Credentials among the variables a build can see: the process environment (e.g. a CI
    token) and the deploy's env file, which Compose interpolates into build args.

    Env-file values count quoted and unquoted: Compose v1 keeps the quotes, v2 strips them.
    """
    found = secrets_of(dict(os.environ if environ is None else environ))
    if env_file is not None and env_file.is_file():
        for name, value in read_env_file(env_file).items():
            for form in {value, value.strip("'\"")}:
                found.update(secrets_in(form, name=name))
    return found


def credential_args(args: Mapping[str, str], marked: Iterable[str]) -> list[str]:
    """Names of the build args that carry a credential (masked, and worth a note)."""
    names = set(marked)
    return sorted(n for n, v in args.items() if secrets_in(v, name=n, marked=n in names))
