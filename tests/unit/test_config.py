"""`[tool.conveyor]` validation: defaults, and one line naming file, key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import msgspec
import msgspec.inspect
import pytest

from conveyor.config import (
    SUPPORTED_PYTHONS,
    DeploySettings,
    DockerSettings,
    Section,
    describe_location,
    error_steps,
    load_project,
    pythons_for,
)
from conveyor.errors import ConfigError
from conveyor.shapes import ANY_KEY


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
            "[tool.conveyor] key 'coverage-fail-under': Expected `float`, got `str`",
        ),
        (
            "[tool.conveyor]\ncoverage-fail-under = 150\n",
            "[tool.conveyor] key 'coverage-fail-under': Expected `float` <= 100.0",
        ),
        (
            "[tool.conveyor]\npython = ['2.7']\n",
            "[tool.conveyor] key 'python': ['2.7'] are not Python versions",
        ),
        (
            "[tool.conveyor.security]\nsafety_database = 'x'\n",
            "[tool.conveyor.security] key 'safety_database': unknown key",
        ),
        (
            "[tool.conveyor.security.ignore]\n'36546' = { reason = '' }\n",
            "[tool.conveyor.security.ignore.36546] key 'reason': Expected `str` of length >= 3",
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
    assert caught.value.hint == (
        "allowed keys: accept-stale-data, bandit-confidence, bandit-severity, bandit-skips, "
        "bandit-targets, ignore, max-data-age, safety, safety-db"
    )


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


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        # No coercion between types: TOML has booleans, numbers and strings of its own.
        (
            '[tool.conveyor.scan]\nvuln = "no"\n',
            "[tool.conveyor.scan] key 'vuln': Expected `bool`, got `str`",
        ),
        (
            '[tool.conveyor.deploy.environments.prod]\nconfirm = "off"\n',
            "[tool.conveyor.deploy.environments.prod] key 'confirm': Expected `bool`, got `str`",
        ),
        (
            '[tool.conveyor.scan]\njobs = "2"\n',
            "[tool.conveyor.scan] key 'jobs': Expected `int`, got `str`",
        ),
        (
            "[tool.conveyor.scan]\njobs = 2.0\n",
            "[tool.conveyor.scan] key 'jobs': Expected `int`, got `float`",
        ),
        (
            "[tool.conveyor.scan]\nvuln = 0\n",
            "[tool.conveyor.scan] key 'vuln': Expected `bool`, got `int`",
        ),
        (
            '[tool.conveyor]\nsrc = "src"\n',
            "[tool.conveyor] key 'src': Expected `array`, got `str`",
        ),
        (
            "[tool.conveyor.deploy]\nhealth-timeout = inf\n",
            "[tool.conveyor.deploy] key 'health-timeout': inf is not a finite number",
        ),
        (
            "[tool.conveyor.deploy]\nhealth-timeout = nan\n",
            "[tool.conveyor.deploy] key 'health-timeout': Expected `float` > 0.0",
        ),
        (
            '[tool.conveyor.deploy.environments.staging]\nhost = "[::1]"\n',
            "[tool.conveyor.deploy.environments.staging] key 'host': '[::1]': write the address "
            "without brackets ('::1')",
        ),
        (
            '[tool.conveyor.deploy.environments.staging]\nhost = "app:8080"\n',
            "[tool.conveyor.deploy.environments.staging] key 'host': 'app:8080' is not a hostname",
        ),
        # Empty gates check nothing.
        (
            "[tool.conveyor.scan]\nscanners = []\n",
            "[tool.conveyor.scan] key 'scanners': Expected `array` of length >= 1",
        ),
        (
            "[tool.conveyor.scan]\nfail-on = []\n",
            "[tool.conveyor.scan] key 'fail-on': Expected `array` of length >= 1",
        ),
        (
            '[tool.conveyor.scan]\nscanners = ["fs", "sbom"]\n',
            "[tool.conveyor.scan] key 'scanners[1]': Invalid enum value 'sbom'; expected "
            "'image', 'fs', 'config' or 'secrets'",
        ),
        # Values that would become options.
        (
            '[tool.conveyor]\nsrc = ["--fix", "src"]\n',
            "[tool.conveyor] key 'src[0]': '--fix' starts with '-' and would be read as an option",
        ),
        (
            '[tool.conveyor]\ntests = ["-x"]\n',
            "[tool.conveyor] key 'tests[0]': '-x' starts with '-'",
        ),
        (
            '[tool.conveyor.security]\nbandit-targets = ["--exit-zero"]\n',
            "[tool.conveyor.security] key 'bandit-targets[0]': '--exit-zero' starts with '-'",
        ),
        (
            '[tool.conveyor.security]\nbandit-skips = ["-h"]\n',
            "[tool.conveyor.security] key 'bandit-skips[0]': '-h' starts with '-'",
        ),
        (
            '[tool.conveyor.licenses]\ngroups = ["--all-groups"]\n',
            "[tool.conveyor.licenses] key 'groups[0]': '--all-groups' starts with '-'",
        ),
        (
            '[tool.conveyor.deploy.environments.staging]\ncontext = "--tls"\n',
            "[tool.conveyor.deploy.environments.staging] key 'context': '--tls' starts with '-'",
        ),
        (
            '[tool.conveyor]\nsrc = [""]\n',
            "[tool.conveyor] key 'src[0]': Expected `str` of length >= 1",
        ),
        # Paths that leave the project.
        (
            '[tool.conveyor]\nreports-dir = "../out"\n',
            "[tool.conveyor] key 'reports-dir': '../out' leaves the project",
        ),
        (
            '[tool.conveyor]\nreports-dir = "/tmp/out"\n',
            "[tool.conveyor] key 'reports-dir': '/tmp/out' is absolute",
        ),
        (
            '[tool.conveyor]\nreports-dir = "~/out"\n',
            "[tool.conveyor] key 'reports-dir': '~/out' is absolute",
        ),
        # Blue-green: a strategy that exists, proxy ports that do not collide.
        (
            '[tool.conveyor.deploy.environments.staging]\nstrategy = "blue_green"\n',
            "[tool.conveyor.deploy.environments.staging] key 'strategy': Invalid enum "
            "value 'blue_green'; expected 'in-place' or 'blue-green'",
        ),
        (
            "[tool.conveyor.deploy.blue-green.services.app]\nlisten = 8080\n",
            "[tool.conveyor.deploy.blue-green.services.app] key 'port': required, but not set",
        ),
        (
            "[tool.conveyor.deploy.blue-green.services.app]\nport = 8000\n"
            "[tool.conveyor.deploy.blue-green.services.api]\nport = 9000\n",
            "[tool.conveyor.deploy.blue-green] key 'services': api.listen = 8080 is also "
            "app.listen; use distinct ports",
        ),
        (
            "[tool.conveyor.deploy.blue-green.services.app]\nport = 8000\npreview = 8405\n",
            "[tool.conveyor.deploy.blue-green] key 'services': app.preview = 8405 is the "
            "proxy's own health port",
        ),
        (
            '[tool.conveyor.deploy.blue-green.services."app;rm"]\nport = 8000\n',
            "[tool.conveyor.deploy.blue-green] key 'services': 'app;rm' is not a compose "
            "service name",
        ),
        (  # the whole name: not a prefix of it
            '[tool.conveyor.deploy.blue-green]\nproxy = "proxy;rm"\n',
            "[tool.conveyor.deploy.blue-green] key 'proxy': Expected `str` matching regex",
        ),
        (
            "[tool.conveyor.deploy.blue-green]\ndrain = -1\n",
            "[tool.conveyor.deploy.blue-green] key 'drain': Expected `float` >= 0.0",
        ),
        (
            '[tool.conveyor]\nreports-dir = "C:\\\\out"\n',
            "[tool.conveyor] key 'reports-dir': 'C:\\\\out' is absolute",
        ),
        (
            '[tool.conveyor.deploy]\nstate-dir = "a/../../b"\n',
            "[tool.conveyor.deploy] key 'state-dir': 'a/../../b' leaves the project",
        ),
        (
            '[tool.conveyor.scan]\nconfig-dir = "/etc"\n',
            "[tool.conveyor.scan] key 'config-dir': '/etc' is absolute",
        ),
        (
            '[tool.conveyor.scan]\nallowlist = "../allow.toml"\n',
            "[tool.conveyor.scan] key 'allowlist': '../allow.toml' leaves the project",
        ),
        (
            '[tool.conveyor.scan]\nskip-dirs = ["/"]\n',
            "[tool.conveyor.scan] key 'skip-dirs[0]': '/' is absolute",
        ),
        (
            '[tool.conveyor.security]\nsafety-db = "../db"\n',
            "[tool.conveyor.security] key 'safety-db': '../db' leaves the project",
        ),
        (
            '[tool.conveyor]\nsrc = ["../other/src"]\n',
            "[tool.conveyor] key 'src[0]': '../other/src' leaves",
        ),
        # Data-age settings.
        (
            "[tool.conveyor.scan]\nmax-db-age = 0\n",
            "[tool.conveyor.scan] key 'max-db-age': Expected `int` >= 1",
        ),
        (
            '[tool.conveyor.security]\naccept-stale-data = "yes"\n',
            "[tool.conveyor.security] key 'accept-stale-data': Expected `table`, got `str`",
        ),
        (
            "[tool.conveyor.security]\naccept-stale-data = { reason = '' }\n",
            "[tool.conveyor.security.accept-stale-data] key 'reason': Expected `str` of "
            "length >= 3",
        ),
        (
            "[tool.conveyor.deploy]\nsmoke = [{ path = '/h', status = '200' }]\n",
            "[tool.conveyor.deploy] key 'smoke[0].status': Expected `int`, got `str`",
        ),
        (
            "[tool.conveyor.deploy]\nlock-wait = inf\n",  # no upper bound: refused as infinite
            "[tool.conveyor.deploy] key 'lock-wait': inf is not a finite number",
        ),
        (
            "[tool.conveyor.deploy]\nsmoke = [{ deadline = inf }]\n",
            "[tool.conveyor.deploy] key 'smoke[0].deadline': inf is not a finite number",
        ),
        # A bool is not an int, nor an int a bool.
        (
            "[tool.conveyor.scan]\njobs = true\n",
            "[tool.conveyor.scan] key 'jobs': Expected `int`, got `bool`",
        ),
        (
            "[tool.conveyor.deploy.environments.prod]\nport = true\n",
            "[tool.conveyor.deploy.environments.prod] key 'port': Expected `int`, got `bool`",
        ),
        # Custom checks, through load_project.
        (
            '[tool.conveyor]\ntools-python = "3"\n',
            "[tool.conveyor] key 'tools-python': '3' is not a Python version; write it as '3.12'",
        ),
        (
            "[tool.conveyor]\npython = []\n",
            "[tool.conveyor] key 'python': must list at least one version",
        ),
        (
            '[tool.conveyor.deploy.environments.prod]\nhost = "https://app"\n'
            '[tool.conveyor.deploy.environments.dev]\nhost = "::1"\n',
            "[tool.conveyor.deploy.environments.prod] key 'host': 'https://app' is not a hostname",
        ),
        (
            '[tool.conveyor]\ntest-runner = "nose"\n',
            "[tool.conveyor] key 'test-runner': Invalid enum value 'nose'; expected 'pytest' or "
            "'unittest'",
        ),
        (
            '[tool.conveyor.deploy]\ntag-variable = "1TAG"\n',
            "[tool.conveyor.deploy] key 'tag-variable': Expected `str` matching regex",
        ),
        (
            # Not `float | null`: TOML has no null (an absent key is the default).
            '[tool.conveyor]\ncoverage-fail-under = "high"\n',
            "[tool.conveyor] key 'coverage-fail-under': Expected `float`, got `str`",
        ),
    ],
)
def test_strict_values_name_file_table_and_key(tmp_path: Path, table: str, expected: str) -> None:
    path = write(tmp_path, '[project]\nname = "svc"\n' + table)
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    first_line = caught.value.render().splitlines()[0]
    assert first_line.startswith(f"{path.resolve()}: {expected}")


def test_integers_are_numbers_and_inner_dots_stay_inside(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[project]\nname = "svc"\n[tool.conveyor]\ncoverage-fail-under = 85\n'
        'reports-dir = "build/../reports"\n[tool.conveyor.deploy]\nhealth-timeout = 30\n'
        '[tool.conveyor.deploy.environments.local]\nhost = "::1"\n',
    )
    with pytest.raises(ConfigError, match=r"'build/\.\./reports' leaves the project"):
        load_project(tmp_path)
    write(
        tmp_path,
        '[project]\nname = "svc"\n[tool.conveyor]\ncoverage-fail-under = 85\n'
        'reports-dir = ".out/reports"\n[tool.conveyor.deploy]\nhealth-timeout = 30\n'
        '[tool.conveyor.deploy.environments.local]\nhost = "::1"\n',
    )
    settings = load_project(tmp_path).settings
    assert settings.coverage_fail_under == 85.0
    assert settings.deploy.health_timeout == 30.0
    assert settings.deploy.environments["local"].host == "::1"
    assert settings.scan.max_db_age == 7
    assert settings.security.max_data_age == 45
    assert settings.security.accept_stale_data is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('project = "x"\n', "[project] must be a table, not str"),
        ('tool = "x"\n', "[tool] must be a table, not str"),
        ("[tool]\nconveyor = 1\n", "[tool.conveyor] must be a table, not int"),
        (
            "[project]\nrequires-python = 5\n",
            "[project] key 'requires-python': must be a string, not int",
        ),
        ("[project]\nname = ['a']\n", "[project] key 'name': must be a string, not list"),
    ],
)
def test_malformed_pyproject_tables_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.render().splitlines()[0] == f"{path.resolve()}: {expected}"


def test_a_pyproject_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes('[project]\nname = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.message == f"{path.resolve()}: not UTF-8 (byte 0xe9 at offset 21)"
    assert "UTF-8" in caught.value.hint


def test_blue_green_is_chosen_per_environment_and_in_place_stays_the_default(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        '[project]\nname = "svc"\n[tool.conveyor.deploy.blue-green]\ndrain = 4\n'
        "[tool.conveyor.deploy.blue-green.services.app]\nport = 8000\n"
        '[tool.conveyor.deploy.environments.staging]\nstrategy = "blue-green"\n'
        "[tool.conveyor.deploy.environments.production]\nport = 8080\n",
    )
    deploy = load_project(tmp_path).settings.deploy
    assert deploy.strategy == "in-place"
    assert deploy.environments["staging"].strategy == "blue-green"
    assert deploy.environments["production"].strategy is None
    assert deploy.blue_green.proxy == "proxy"
    assert deploy.blue_green.drain == 4.0
    app = deploy.blue_green.services["app"]
    assert (app.port, app.listen, app.preview) == (8000, 8080, 9080)


@pytest.mark.parametrize(
    ("message", "steps", "problem"),
    [
        ("Object contains unknown field `srcs`", ["srcs"], "unknown key"),
        (
            "Expected `int`, got `str` - at `$.deploy.smoke[0].status`",
            ["deploy", "smoke", 0, "status"],
            "Expected `int`, got `str`",
        ),
        (
            "Object missing required field `port` - at `$.deploy.blue-green.services[...]`",
            ["deploy", "blue-green", "services", ANY_KEY, "port"],
            "required, but not set",
        ),
        (  # a __post_init__ problem names its key; a value may look like a path
            "key `src[1]`: '- at `$.x`' starts with '-' and would be read as an option",
            ["src", 1],
            "'- at `$.x`' starts with '-' and would be read as an option",
        ),
        (
            "key `services`: app.preview = 8405 is the proxy's own health port - at "
            "`$.deploy.blue-green`",
            ["deploy", "blue-green", "services"],
            "app.preview = 8405 is the proxy's own health port",
        ),
        ("Object contains unknown field `a.b` - at `$.scan`", ["scan", "a.b"], "unknown key"),
    ],
)
def test_msgspec_messages_become_steps_and_a_problem(
    message: str, steps: list[str | int], problem: str
) -> None:
    assert error_steps(message) == (steps, problem)


@pytest.mark.parametrize(
    ("steps", "table", "key"),
    [
        (["srcs"], "[tool.conveyor]", "srcs"),
        (["src", 0], "[tool.conveyor]", "src[0]"),
        (["deploy", "smoke", 0, "path"], "[tool.conveyor.deploy]", "smoke[0].path"),
        (
            ["deploy", "environments", "prod", "confirm"],
            "[tool.conveyor.deploy.environments.prod]",
            "confirm",
        ),
    ],
)
def test_steps_name_a_table_and_a_key(steps: list[str | int], table: str, key: str) -> None:
    assert describe_location(steps) == (table, key)


def float_keys() -> list[tuple[type[Section], str]]:
    """Every float setting of every table."""
    found = []
    for section in Section.__subclasses__():
        info = msgspec.inspect.type_info(section)
        assert isinstance(info, msgspec.inspect.StructType)
        for field in info.fields:
            kinds = getattr(field.type, "types", (field.type,))
            if any(isinstance(kind, msgspec.inspect.FloatType) for kind in kinds):
                found.append((section, field.encode_name))
    return found


def test_every_float_setting_refuses_inf_and_nan() -> None:
    keys = float_keys()
    assert len(keys) >= 10  # coverage thresholds; smoke, swarm, blue-green and deploy timings
    for section, key in keys:
        for value in (float("inf"), float("-inf"), float("nan")):
            with pytest.raises(msgspec.ValidationError):
                msgspec.convert({key: value}, section, strict=True)


@pytest.mark.parametrize(
    ("table", "first_line", "allowed"),
    [
        (
            "[tool.conveyor.deploy.environments.prod]\ncolour = 'blue'\n",
            "[tool.conveyor.deploy.environments.prod] key 'colour': unknown key",
            "bind-mounts, compose-files, confirm, context, engine, env-file, host, port, "
            "project, scheme, strategy",
        ),
        (
            "[tool.conveyor.deploy]\nsmoke = [{ path = '/' }, { url = '/x' }]\n",
            "[tool.conveyor.deploy] key 'smoke[1].url': unknown key",
            "deadline, path, services, status, timeout",
        ),
        (
            "[tool.conveyor.deploy.blue-green.services.app]\nport = 80\nweight = 2\n",
            "[tool.conveyor.deploy.blue-green.services.app] key 'weight': unknown key",
            "listen, port, preview",
        ),
        (  # a snake_case spelling of a key is named with its kebab-case one
            "[tool.conveyor.deploy.swarm]\npublish_mode = 'host'\n",
            "[tool.conveyor.deploy.swarm] key 'publish_mode': unknown key (write it as "
            "'publish-mode')",
            "endpoint-mode, monitor, parallelism, publish-mode",
        ),
    ],
)
def test_an_unknown_nested_key_lists_the_keys_of_its_table(
    tmp_path: Path, table: str, first_line: str, allowed: str
) -> None:
    path = write(tmp_path, table)
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.message == f"{path.resolve()}: {first_line}"
    assert caught.value.hint == f"allowed keys: {allowed}"


def test_a_dockerfile_and_compose_files_are_told_apart_from_their_defaults(
    tmp_path: Path,
) -> None:
    assert (DockerSettings().dockerfile, DockerSettings().configured_dockerfile) == (
        "docker/Dockerfile",
        None,
    )
    assert DeploySettings().compose_files == ["docker/compose.yaml"]
    assert DeploySettings().configured_compose_files is None
    write(
        tmp_path,
        '[tool.conveyor.docker]\ndockerfile = "docker/Dockerfile"\n'
        '[tool.conveyor.deploy]\ncompose-files = ["a.yaml"]\n',
    )
    settings = load_project(tmp_path).settings
    assert (
        settings.docker.configured_dockerfile == settings.docker.dockerfile == "docker/Dockerfile"
    )
    assert settings.deploy.configured_compose_files == settings.deploy.compose_files == ["a.yaml"]
