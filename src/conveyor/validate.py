"""Grammars for values that end up on a command line: image references, tags, build args, names.

Everything is checked before any command runs, so a value such as `app;rm -rf /` or `$(id)`
stops with one line naming the value and its grammar, never reaching a program.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Union

from conveyor.errors import InvalidInputError

# Docker's reference grammar (distribution/reference): lowercase path components joined by
# separators, an optional registry host[:port] in front, then an optional tag and digest.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PORT = r"(?::[0-9]+)?"
# Like Docker, a first component is a registry host only when it looks like one: it has a
# dot or a port, or is localhost; anything else is a (lowercase) path component.
_DOMAIN = (
    rf"(?:localhost{_PORT}|{_DOMAIN_PART}(?:\.{_DOMAIN_PART})+{_PORT}"
    rf"|{_DOMAIN_PART}:[0-9]+|\[[0-9a-fA-F:]+\]{_PORT})"
)
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # Docker: \w is ASCII-only
DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
REPOSITORY = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*")
IMAGE_REFERENCE = re.compile(
    rf"(?P<name>{REPOSITORY.pattern})(?::(?P<tag>{TAG.pattern}))?(?:@(?P<digest>{DIGEST.pattern}))?"
)
BUILD_ARG_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Build-arg values are free text to Docker, but we pass them through argv only, and refuse
# anything a shell or a log would misread.
BUILD_ARG_VALUE = re.compile(r"[A-Za-z0-9_.,:/=+@%^~-]*")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BUILD_TARGET = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")  # a Dockerfile stage name (`FROM x AS name`)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

MAX_REPOSITORY_LENGTH = 255
_DANGEROUS = (
    (";", "a ';'"),
    ("$(", "a '$('"),
    ("`", "a backtick"),
    ("\n", "a newline"),
    ("\r", "a carriage return"),
    (" ", "a space"),
    ("\t", "a tab"),
    ("&", "a '&'"),
    ("|", "a '|'"),
)

Pattern = Union[str, "re.Pattern[str]"]


def _dangerous_part(value: str) -> str:
    for needle, label in _DANGEROUS:
        if needle in value:
            return label
    return ""


def validate_name(kind: str, value: str, pattern: Pattern, *, hint: str = "") -> str:
    """Return `value` when it fully matches `pattern`; otherwise raise one clear line.

    `kind` names the value for the message (e.g. "image tag", "environment name").
    """
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"invalid {kind}: empty value", hint=hint or _grammar(compiled))
    bad = _dangerous_part(value)
    if bad or compiled.fullmatch(value) is None:
        reason = f"contains {bad}" if bad else "does not match its grammar"
        raise InvalidInputError(
            f"invalid {kind} {value!r}: {reason}", hint=hint or _grammar(compiled)
        )
    return value


def _grammar(pattern: re.Pattern[str]) -> str:
    return f"allowed: values matching {pattern.pattern}"


def validate_image(reference: str) -> str:
    """An image reference `[registry/]name[:tag][@digest]` per Docker's grammar."""
    validate_name(
        "image reference",
        reference,
        IMAGE_REFERENCE,
        hint="use lowercase [registry/]name[:tag], e.g. ghcr.io/acme/app:1.2.3",
    )
    name = IMAGE_REFERENCE.fullmatch(reference)  # matched: validate_name checked it
    if name is not None and len(name.group("name")) > MAX_REPOSITORY_LENGTH:
        raise InvalidInputError(
            f"invalid image reference {reference!r}: name longer than "
            f"{MAX_REPOSITORY_LENGTH} characters",
            hint="shorten the repository name",
        )
    return reference


def validate_repository(name: str) -> str:
    """An image name without tag or digest, e.g. `acme/app`."""
    return validate_name(
        "image name",
        name,
        REPOSITORY,
        hint="use lowercase [registry/]path, e.g. acme/app (no tag here)",
    )


def validate_tag(tag: str) -> str:
    """A tag: word characters, '.', '-', up to 128, not starting with '.' or '-'."""
    return validate_name(
        "image tag", tag, TAG, hint="use letters, digits, '_', '.', '-' (max 128 characters)"
    )


def validate_build_arg(key: str, value: str) -> tuple[str, str]:
    """A `--build-arg KEY=VALUE` pair: identifier key, value without shell metacharacters."""
    validate_name(
        "build-arg name", key, BUILD_ARG_KEY, hint="use letters, digits and '_' (e.g. PIP_INDEX)"
    )
    if value:
        validate_name(
            f"build-arg value for {key}",
            value,
            BUILD_ARG_VALUE,
            hint="use letters, digits and . , : / = + @ % ^ ~ - _ (no spaces or shell syntax)",
        )
    return key, value


def validate_passed_build_arg(key: str, value: str) -> tuple[str, str]:
    """A build arg as a compose file may write it: identifier key, any printable value.

    Values travel as one argv element after `--build-arg KEY=`, never through a shell and
    never as an option, so spaces and quotes are harmless; control characters would forge
    log lines, so they are refused.
    """
    validate_name(
        "build-arg name", key, BUILD_ARG_KEY, hint="use letters, digits and '_' (e.g. PIP_INDEX)"
    )
    refuse_control_characters(f"build-arg value for {key}", value)
    return key, value


def refuse_control_characters(kind: str, value: str) -> str:
    """`value` unless it holds a control character (a newline would forge a log line)."""
    if CONTROL_CHARACTERS.search(value):
        raise InvalidInputError(
            f"invalid {kind}: contains a control character (e.g. a newline)",
            hint="write the value on one line",
        )
    return value


def validate_build_target(target: str) -> str:
    """A Dockerfile stage name for `docker build --target`."""
    return validate_name(
        "build target", target, BUILD_TARGET, hint="a stage name from `FROM image AS name`"
    )


def parse_build_arg(text: str) -> tuple[str, str]:
    """`KEY=VALUE` from the command line, validated."""
    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidInputError(
            f"invalid build arg {text!r}: expected KEY=VALUE", hint="e.g. --build-arg PIP_INDEX=..."
        )
    return validate_build_arg(key, value)


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")


def host_problem(host: str) -> str:
    """Why `host` is not a bare hostname or IP address (empty when it is one).

    Brackets are URL syntax, not part of an address: `::1`, not `[::1]`.
    """
    if host.startswith("[") and host.endswith("]"):
        return f"{host!r}: write the address without brackets ({host[1:-1]!r})"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not HOSTNAME.fullmatch(host):
            return f"{host!r} is not a hostname or IP address (no scheme, port, path or user)"
    return ""
