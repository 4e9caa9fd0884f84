"""What a deploy masks: secret-named values, URL passwords, file-based Docker secrets."""

from __future__ import annotations

from pathlib import Path

import yaml

from conveyor.deploy.secrets import (
    config_secrets,
    env_file_secrets,
    environ_secrets,
    secret_like,
)
from conveyor.runner import MASK, Runner


def test_secret_like_values() -> None:
    assert secret_like("DB_PASSWORD", "hunter22") == ["hunter22"]
    assert secret_like("api_token", "abcd") == ["abcd"]
    assert secret_like("GREETING", "hello") == []
    assert secret_like("PASSWORD", "x") == []  # too short to mask usefully
    assert secret_like("STORE_URL", "redis://:s3cret-pw@store:6379/0") == ["s3cret-pw"]
    assert secret_like("DSN", "postgres://app:pw1234@db/app") == [
        "postgres://app:pw1234@db/app",
        "pw1234",
    ]


def test_env_file_values(tmp_path: Path) -> None:
    env = tmp_path / "prod.env"
    env.write_text(
        '# comment\nAPP_TAG=1.0\nexport REGISTRY_TOKEN="tok-123456"\nAPI_KEY=\nDEBUG=1\n'
    )
    assert env_file_secrets(env) == {"tok-123456"}
    assert env_file_secrets(tmp_path / "absent.env") == set()
    assert env_file_secrets(None) == set()


V1 = """services:
  backend:
    environment:
      SESSION_SECRET: sess-abcdef
      APP_GREETING: hello there
      CACHE_URL: redis://:cache-pw@cache:6379/0
secrets:
  db_password:
    file: {secret}
"""

V2_LIST = """services:
  web:
    environment:
      - ADMIN_TOKEN=tok-987654
      - MODE=prod
"""


def test_rendered_configurations(tmp_path: Path) -> None:
    secret = tmp_path / "db_password.txt"
    secret.write_text("pw-from-file\n")
    found = config_secrets(yaml.safe_load(V1.format(secret=secret)))
    assert found == {"sess-abcdef", "cache-pw", "pw-from-file"}
    assert config_secrets(yaml.safe_load(V2_LIST)) == {"tok-987654"}
    missing = yaml.safe_load(V1.format(secret=tmp_path / "gone.txt"))
    assert "pw-from-file" not in config_secrets(missing)


def test_variables_the_compose_files_interpolate() -> None:
    texts = ["image: app:${APP_TAG}\nenvironment:\n  PW: $DB_PASSWORD\n"]
    environ = {"DB_PASSWORD": "from-ci-env", "APP_TAG": "1.0", "OTHER_TOKEN": "unused-1"}
    assert environ_secrets(texts, environ) == {"from-ci-env"}


def test_the_runner_masks_them_in_commands_and_errors() -> None:
    runner = Runner(secrets={"from-ci-env"})
    assert runner.describe(["docker", "run", "-e", "PW=from-ci-env"]) == (
        f"docker run -e 'PW={MASK}'"  # masked, then quoted as a shell would need it
    )
    assert runner.mask("login failed for from-ci-env") == f"login failed for {MASK}"
