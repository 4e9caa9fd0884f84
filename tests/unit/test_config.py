"""`[tool.conveyor]` validation: defaults, and one line naming file, key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import SUPPORTED_PYTHONS, load_project, pythons_for
from conveyor.errors import ConfigError


def write(root: Path, text: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_absent_table_gives_the_defaults(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "svc"\n')
    project = load_project(tmp_path)
    assert project.name == "svc"
    assert project.settings.src == ["src"]
    assert project.settings.tests == ["tests"]
    assert project.pythons == list(SUPPORTED_PYTHONS)
    assert project.tools_python == "3.12"  # preferred over the newest declared (3.15)
    assert project.settings.coverage_fail_under is None  # the project's coverage config decides
    assert project.reports == tmp_path.resolve() / "reports"
    assert project.settings.security.safety_db is None
    assert project.settings.licenses.deny[:3] == ["GPL", "AGPL", "SSPL"]


def test_pythons_follow_requires_python() -> None:
    assert pythons_for(">=3.11") == ["3.11", "3.12", "3.13", "3.14", "3.15"]
    assert pythons_for(">=3.11", ["3.10", "3.11", "3.14"]) == ["3.11", "3.14"]
    assert pythons_for(">=3.9,<3.11") == ["3.9", "3.10"]
    assert pythons_for(None) == list(SUPPORTED_PYTHONS)


def test_a_full_table_is_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
[project]
name = "svc"
requires-python = ">=3.10"
[tool.conveyor]
src = ["src/svc"]
python = ["3.11", "3.12"]
tools-python = "3.12"
coverage-fail-under = 85.5
reports-dir = "out"
[tool.conveyor.security]
safety-db = "safety-db"
bandit-skips = ["B101"]
ignore = { "36546" = { reason = "not reachable" } }
[tool.conveyor.licenses]
allow = { unidecode = { reason = "separate process" } }
""",
    )
    project = load_project(tmp_path)
    assert project.pythons == ["3.11", "3.12"]
    assert project.tools_python == "3.12"
    assert project.reports.name == "out"
    assert project.settings.security.ignore["36546"].reason == "not reachable"
    assert project.settings.licenses.allow["unidecode"].reason == "separate process"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("[tool.conveyor]\nsrcs = ['src']\n", "[tool.conveyor] key 'srcs': unknown key"),
        (
            "[tool.conveyor]\ncoverage-fail-under = 'high'\n",
            "[tool.conveyor] key 'coverage-fail-under': Input should be a valid number",
        ),
        (
            "[tool.conveyor]\ncoverage-fail-under = 150\n",
            "[tool.conveyor] key 'coverage-fail-under': Input should be less than or equal to 100",
        ),
        (
            "[tool.conveyor]\npython = ['2.7']\n",
            "[tool.conveyor] key 'python': Value error, ['2.7'] are not Python versions",
        ),
        (
            "[tool.conveyor.security]\nsafety_database = 'x'\n",
            "[tool.conveyor.security] key 'safety_database': unknown key",
        ),
        (
            "[tool.conveyor.security.ignore]\n'36546' = { reason = '' }\n",
            "[tool.conveyor.security.ignore.36546] key 'reason': String should have at least 3",
        ),
    ],
)
def test_a_bad_value_names_file_table_and_key(tmp_path: Path, table: str, expected: str) -> None:
    path = write(tmp_path, table)
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    first_line = caught.value.render().splitlines()[0]
    assert first_line.startswith(f"{path.resolve()}: {expected}")


def test_an_unknown_key_lists_the_allowed_ones(tmp_path: Path) -> None:
    write(tmp_path, "[tool.conveyor.security]\nsafety_database = 'x'\n")
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    allowed = "allowed keys: bandit-confidence, bandit-severity, bandit-skips, bandit-targets"
    assert allowed in caught.value.hint


def test_invalid_toml_and_a_missing_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pyproject\.toml: not found"):
        load_project(tmp_path)
    write(tmp_path, "[tool.conveyor\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: invalid TOML"):
        load_project(tmp_path)


def test_requires_python_admitting_nothing_supported_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\nrequires-python = ">=3.20"\n')
    with pytest.raises(ConfigError, match="admits none of"):
        load_project(tmp_path)
    write(tmp_path, '[project]\nname = "x"\nrequires-python = "3.9+"\n')
    with pytest.raises(ConfigError, match="invalid specifier"):
        load_project(tmp_path)
