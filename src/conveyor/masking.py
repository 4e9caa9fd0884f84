"""Which values are credentials, so the runner can mask them wherever a command is printed.

A value is a secret when its name says so (PASSWORD, TOKEN, SECRET, API_KEY, ...), when the
project marks it secret, when it is a URL with `user:password@`, or when it has the shape of
a well-known token (GitHub, GitLab, Slack, AWS, JWT). Over-masking is safe; a leak is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

MIN_SECRET_LENGTH = 4
"""Shorter values are not masked: replacing every `ab` in a log would hide more than it saves."""
SECRET_NAME = re.compile(
    r"(?:^|[_-])(?:PASSWORDS?|PASSWD|PASS|SECRETS?|TOKENS?|API_?KEYS?|ACCESS_?KEYS?"
    r"|PRIVATE_?KEYS?|SECRET_?KEYS?|CREDENTIALS?|CREDS)(?:$|[_-])"
    r"|(?:^|[_-])(?:AUTH|DSN|KEY)$",
    re.IGNORECASE,
)
"""Names of credentials: `DB_PASSWORD`, `GITHUB_TOKEN`, `API_KEY`, `NPM_AUTH` (not `PWD`,
the working directory, nor `SSH_AUTH_SOCK`, a socket path)."""
TOKEN_SHAPES = re.compile(
    r"^(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)$"
)
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s,;'\"]+")
NOT_SECRET = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null"})


def names_a_secret(name: str) -> bool:
    """True when a variable's name says it holds a credential (`PIP_PASSWORD`, `API_KEY`)."""
    return SECRET_NAME.search(name) is not None


def url_credentials(value: str) -> list[str]:
    """The password (and `user:password`) in every URL of `value` that carries one."""
    found: list[str] = []
    for url in URL.findall(value):
        try:
            password = urlsplit(url).password
        except ValueError:  # e.g. a port that is not a number
            continue
        if password:
            userinfo = urlsplit(url).netloc.rsplit("@", 1)[0]
            found += [userinfo, password, unquote(password)]
    return list(dict.fromkeys(found))


def secrets_in(value: str, *, name: str = "", marked: bool = False) -> list[str]:
    """The parts of `value` to mask: all of it when marked, named or token-shaped, else the
    credentials inside URLs."""
    text = value.strip()
    if not text:
        return []
    if marked or TOKEN_SHAPES.match(text):
        return _long_enough([text])
    if name and names_a_secret(name) and text.lower() not in NOT_SECRET:
        return _long_enough([text, *url_credentials(text)])
    return _long_enough(url_credentials(text))


def secrets_of(values: Mapping[str, str], marked: Iterable[str] = ()) -> set[str]:
    """Every secret among `values` (name -> value); `marked` names are secret whatever they hold."""
    always = set(marked)
    found: set[str] = set()
    for name, value in values.items():
        found.update(secrets_in(value, name=name, marked=name in always))
    return found


def _long_enough(values: Iterable[str]) -> list[str]:
    return [v for v in values if len(v) >= MIN_SECRET_LENGTH]
