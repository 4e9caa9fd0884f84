"""Which values are credentials, and that the runner masks them in every line it prints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conveyor.errors import ToolFailedError
from conveyor.images.secrets import credential_args, environment_secrets, read_env_file
from conveyor.masking import (
    MIN_SECRET_LENGTH,
    names_a_secret,
    secrets_in,
    secrets_of,
    url_credentials,
)
from conveyor.runner import MASK, Runner

TOKEN = "ghp_" + "A1b2C3d4" * 5


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "PIP_PASS", "GITHUB_TOKEN", "api-key", "AWS_SECRET_ACCESS_KEY", "NPM_AUTH",
     "SENTRY_DSN", "SSH_KEY", "registry_credentials", "SECRET"],
)  # fmt: skip
def test_credential_names(name: str) -> None:
    assert names_a_secret(name)


@pytest.mark.parametrize(
    "name", ["PWD", "OLDPWD", "SSH_AUTH_SOCK", "AUTHOR", "MONKEY", "PASSENGER", "KEYBOARD", "PATH"]
)
def test_names_that_are_not_credentials(name: str) -> None:
    assert not names_a_secret(name)


def test_url_credentials() -> None:
    text = "--index-url=https://ci:s3cr%40t@pypi.example.invalid/simple and http://plain.host/x"
    assert url_credentials(text) == ["ci:s3cr%40t", "s3cr%40t", "s3cr@t"]
    assert url_credentials("https://user@host/x") == []  # a user name alone is no secret
    assert url_credentials("http://host:notaport/x") == []


def test_secrets_in_values() -> None:
    assert secrets_in("hunter2!", name="DB_PASSWORD") == ["hunter2!"]
    assert secrets_in("true", name="USE_TOKEN") == []  # a flag, not a credential
    assert secrets_in("https://u:pw99@h/simple", name="PIP_INDEX_URL") == ["u:pw99", "pw99"]
    assert secrets_in(TOKEN, name="ANYTHING") == [TOKEN]  # token-shaped, whatever its name
    assert secrets_in("plainvalue", name="GREETING") == []
    assert secrets_in("plainvalue", marked=True) == ["plainvalue"]
    assert secrets_in("abc", marked=True) == []  # shorter than MIN_SECRET_LENGTH
    assert MIN_SECRET_LENGTH == 4
    assert secrets_in("   ", marked=True) == []


def test_secrets_of_and_credential_args() -> None:
    args = {"GREETING": "hello", "PIP_INDEX_URL": "https://u:pw99@h/s", "EDITION": "enterprise"}
    assert secrets_of(args, marked=["EDITION"]) == {"u:pw99", "pw99", "enterprise"}
    assert credential_args(args, ["EDITION"]) == ["EDITION", "PIP_INDEX_URL"]


def test_environment_secrets_from_process_and_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        "# comment\n\nexport STORE_PASSWORD='quoted-pw'\nAPP_PORT=8000\nnot a pair\n"
        "INDEX=https://bot:idx-pw@pypi.example.invalid/simple\n",
        encoding="utf-8",
    )
    assert read_env_file(env_file)["STORE_PASSWORD"] == "'quoted-pw'"
    found = environment_secrets({"GITHUB_TOKEN": "gh-token-value", "PWD": "/work"}, env_file)
    assert {"gh-token-value", "'quoted-pw'", "quoted-pw", "idx-pw"} <= found
    assert "/work" not in found
    assert "8000" not in found
    assert environment_secrets({}, tmp_path / "absent.env") == set()


def test_runner_masks_commands_errors_and_streamed_lines() -> None:
    secret = "it's-a-s3cret"  # a quote changes how shlex quotes the argument
    runner = Runner(secrets={secret})
    shown = runner.describe(["tool", f"--password={secret}", "x y"])
    assert secret not in shown
    assert shown == f"tool '--password={MASK}' 'x y'"
    lines: list[str] = []
    script = (
        f"import sys; print('token: ' + {secret!r}, flush=True); print('bye', file=sys.stderr); "
        "sys.exit(3)"
    )
    with pytest.raises(ToolFailedError) as failed:
        runner.stream([sys.executable, "-c", script, secret], lines.append, tool="demo")
    assert lines == [f"token: {MASK}", "bye"]
    assert failed.value.message.startswith("demo: exited 3: ")
    assert secret not in failed.value.render()
    assert f"token: {MASK}" in failed.value.hint


def test_runner_stream_success_and_missing_program() -> None:
    lines: list[str] = []
    done = Runner().stream([sys.executable, "-c", "print('one'); print('two')"], lines.append)
    assert (done.returncode, lines, done.stdout) == (0, ["one", "two"], "one\ntwo")
    with pytest.raises(Exception, match="program not found"):
        Runner().stream(["/nonexistent/program"], lines.append)
