"""Grammar checks for values that reach a command line."""

from __future__ import annotations

import re

import pytest

from conveyor.errors import InvalidInputError
from conveyor.validate import (
    ENV_NAME,
    parse_build_arg,
    validate_build_arg,
    validate_image,
    validate_name,
    validate_repository,
    validate_tag,
)


@pytest.mark.parametrize(
    "reference",
    [
        "app",
        "acme/app:1.2.3",
        "ghcr.io/acme/app:sha-0123abc",
        "localhost:5000/team/app_x__y.z-w:latest",
        "conveyor/base:bookworm",
        "app@sha256:" + "a" * 64,
        "[::1]:5000/app:v1",
    ],
)
def test_valid_image_references(reference: str) -> None:
    assert validate_image(reference) == reference


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("app;rm", "contains a ';'"),
        ("app$(id)", "contains a '$('"),
        ("my app", "contains a space"),
        ("app\nx", "contains a newline"),
        ("app`id`", "contains a backtick"),
        ("App", "does not match its grammar"),
        ("app:", "does not match its grammar"),
        ("app:-tag", "does not match its grammar"),
        ("-app", "does not match its grammar"),
        ("app::tag", "does not match its grammar"),
        ("", "empty value"),
    ],
)
def test_invalid_image_references(reference: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_image(reference)
    assert reason in info.value.message
    assert "\n" not in info.value.message.replace(repr(reference), "")


def test_repository_name_too_long() -> None:
    with pytest.raises(InvalidInputError, match="longer than 255"):
        validate_image("a" * 256)


def test_repository_excludes_tags() -> None:
    assert validate_repository("acme/app") == "acme/app"
    with pytest.raises(InvalidInputError, match="invalid image name"):
        validate_repository("acme/app:1")


@pytest.mark.parametrize("tag", ["1.2.3", "latest", "sha_abc-1", "A" * 128])
def test_valid_tags(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", [".hidden", "-x", "a" * 129, "a/b", "a b", "v1\u00e9", "\u0662"])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid image tag"):
        validate_tag(tag)


def test_build_args() -> None:
    assert validate_build_arg("PIP_INDEX", "https://pypi.org/simple") == (
        "PIP_INDEX",
        "https://pypi.org/simple",
    )
    assert validate_build_arg("EMPTY", "") == ("EMPTY", "")
    assert parse_build_arg("A=b=c") == ("A", "b=c")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NOVALUE", "expected KEY=VALUE"),
        ("1BAD=x", "invalid build-arg name '1BAD'"),
        ("K=a;b", "invalid build-arg value for K 'a;b': contains a ';'"),
        ("K=$(id)", "contains a '$('"),
        ("K=a b", "contains a space"),
        ("K=a\nb", "contains a newline"),
        ("K=a|b", "contains a '|'"),
        ("K=a&b", "contains a '&'"),
        ('K="q"', "does not match its grammar"),
    ],
)
def test_bad_build_args(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_build_arg(text)
    assert message in info.value.message


def test_validate_name_is_generic() -> None:
    assert validate_name("environment name", "STAGING_1", ENV_NAME) == "STAGING_1"
    assert validate_name("slug", "ab-c", r"[a-z-]+") == "ab-c"
    with pytest.raises(InvalidInputError) as info:
        validate_name("environment name", "prod;x", ENV_NAME, hint="use letters")
    assert info.value.render() == (
        "invalid environment name 'prod;x': contains a ';'\n  hint: use letters"
    )
    with pytest.raises(InvalidInputError) as default_hint:
        validate_name("slug", "ABC", re.compile(r"[a-z]+"))
    assert default_hint.value.hint == "allowed: values matching [a-z]+"


@pytest.mark.parametrize("reference", ["Acme/app:1", "registry/App", "UPPER"])
def test_uppercase_is_only_allowed_in_a_registry_host(reference: str) -> None:
    with pytest.raises(InvalidInputError):
        validate_image(reference)
    assert validate_image("Registry.Example.com:5000/acme/app") == (
        "Registry.Example.com:5000/acme/app"
    )
