"""What a release records from today's checkout: compose files as written, env file names."""

from __future__ import annotations

from pathlib import Path

from conveyor.deploy.prepare import current_source, env_file_names, relative_name
from conveyor.tools.compose import Compose, ComposeTarget

BASE = """services:
  app:
    image: demo:${APP_TAG}
    env_file: app.env
  worker:
    image: demo:${APP_TAG}
    env_file:
      - app.env
      - path: worker.env
        required: false
"""
OVERLAY = """services:
  app:
    env_file:
      - ${APP_ENV_FILE:-staging.env}
"""


def test_env_file_names_as_written() -> None:
    assert env_file_names([BASE, OVERLAY, "services: [unclosed\n", "- a list\n"]) == [
        "app.env",
        "worker.env",
        "${APP_ENV_FILE:-staging.env}",
    ]


def test_todays_source_has_relative_paths_texts_and_names(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "compose.yaml").write_text(BASE)
    (tmp_path / "docker" / "compose.staging.yaml").write_text(OVERLAY)
    (tmp_path / "staging.env").write_text("DB_PASSWORD=never-recorded\n")
    target = ComposeTarget(
        files=(tmp_path / "docker" / "compose.yaml", tmp_path / "docker" / "compose.staging.yaml"),
        project="demo",
        env_file=tmp_path / "staging.env",
        variables={"APP_TAG": "1.0"},
    )
    source = current_source(Compose(target, command=("docker-compose",)), tmp_path)
    assert [f.path for f in source.compose_files] == [
        "docker/compose.yaml",
        "docker/compose.staging.yaml",
    ]
    assert source.compose_files[0].text == BASE  # not interpolated
    assert source.env_files[0] == "staging.env"
    assert "never-recorded" not in repr(source)
    assert source.variables == {"APP_TAG": "1.0"}
    assert relative_name(Path("/elsewhere/x.yaml"), tmp_path) == "/elsewhere/x.yaml"
