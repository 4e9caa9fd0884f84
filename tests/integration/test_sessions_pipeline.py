"""Conveyor's nox sessions run for real (nox, uv, ruff, mypy, pytest, bandit, safety,
pip-licenses) on small fixture projects locked with `uv lock`."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nox
import nox.registry
import pytest

from tests.conftest import require_tool
from tests.integration._projects import NOXFILE

TOOL_PINS: dict[str, list[object]] = {
    "lint": ["ruff==0.17.6"],
    "typing": ["mypy==2.4.1", {"include-group": "test"}],
    "test": ["pytest==9.2.0", "pytest-cov==7.1.0"],
    "bandit": ["bandit==1.9.4"],
    "safety": ["safety==2.3.5", "safety-db==2021.7.17", "urllib3>=2"],
    "licenses": ["pip-licenses==5.5.5"],
}
CONFLICTS = (
    '[[{ group = "safety" }, { group = "test" }], [{ group = "safety" }, { group = "typing" }]]'
)
PACKAGE = '''\
"""A tiny package."""


def double(value: int) -> int:
    """Twice `value`."""
    return value * 2
'''
UNIT_TEST = """\
from demo import double


def test_double() -> None:
    assert double(2) == 4
"""


def _toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f'{k} = "{v}"' for k, v in value.items()) + " }"
    return json.dumps(value)


def write_project(
    root: Path,
    *,
    dependencies: tuple[str, ...] = ("typing-extensions==4.16.0",),
    conveyor: str = "",
    groups: dict[str, list[object]] | None = None,
    service: tuple[str, ...] = (),
) -> Path:
    """A src-layout project with a noxfile calling Conveyor; `conveyor` is extra TOML.

    `service` pins go to a default group kept apart from safety's (an old requests pins
    an urllib3 that safety itself cannot import on 3.12), as a real project would do.
    """
    (root / "src" / "demo").mkdir(parents=True)
    (root / "tests" / "unit").mkdir(parents=True)
    (root / "src" / "demo" / "__init__.py").write_text(PACKAGE)
    (root / "src" / "demo" / "py.typed").write_text("")
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "unit" / "__init__.py").write_text("")
    (root / "tests" / "unit" / "test_demo.py").write_text(UNIT_TEST)
    (root / "tests" / "integration").mkdir()
    (root / "tests" / "integration" / "__init__.py").write_text("")
    (root / "tests" / "integration" / "test_demo_end_to_end.py").write_text(UNIT_TEST)
    (root / "noxfile.py").write_text(NOXFILE)
    all_groups: dict[str, list[object]] = dict(TOOL_PINS if groups is None else groups)
    conflicts = CONFLICTS
    uv_extra = ""
    if service:
        all_groups["service"] = list(service)
        conflicts = conflicts[:-1] + ', [{ group = "safety" }, { group = "service" }]]'
        uv_extra = 'default-groups = ["service"]\n'
    group_lines = "\n".join(
        f"{name} = [{', '.join(_toml_value(v) for v in pins)}]" for name, pins in all_groups.items()
    )
    deps = ", ".join(json.dumps(d) for d in dependencies)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "demo"
            version = "0.1.0"
            requires-python = ">=3.12"
            dependencies = [{deps}]

            [dependency-groups]
            """
        )
        + group_lines
        + textwrap.dedent(
            f"""

            [tool.uv]
            conflicts = {conflicts}
            {uv_extra}
            [tool.mypy]
            strict = true

            [tool.coverage.run]
            branch = true

            [tool.conveyor]
            src = ["src"]
            tests = ["tests"]
            python = ["3.12"]
            tools-python = "3.12"
            coverage-fail-under = 90

            [tool.conveyor.security]
            safety-db = "safety-db"
            accept-stale-data = {{ reason = "the fixture checks offline, on safety-db's data" }}
            """
        )
        + conveyor
    )
    return root


def uv_lock(root: Path) -> None:
    subprocess.run(["uv", "lock", "--quiet"], cwd=root, check=True, timeout=300)


def run_nox(root: Path, *args: str, ci: bool | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m nox` in `root` with this interpreter (which has Conveyor installed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NOX_CURRENT_SESSION")}
    if ci is False:
        env.pop("CI", None)
    elif ci:
        env["CI"] = "true"
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "nox", "--noxfile", str(root / "noxfile.py"), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def nox_in_process(
    root: Path,
    *args: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    step_summary: Path | None = None,
) -> tuple[int, str]:
    """The same nox run inside this process, so coverage sees the session code run.

    With `step_summary`, the run believes it is in GitHub Actions and writes its summary there.
    """
    monkeypatch.setattr(nox.registry, "_REGISTRY", {})
    monkeypatch.setattr(sys, "argv", ["nox", "--noxfile", str(root / "noxfile.py"), *args])
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("PATH", os.environ["PATH"])  # register() puts interpreter links first
    if step_summary is None:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    else:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.chdir(root)
    capfd.readouterr()
    with pytest.raises(SystemExit) as caught, logging_as_it_was("", "nox"):
        nox.main()
    captured = capfd.readouterr()
    code = caught.value.code
    return (code if isinstance(code, int) else 1), captured.out + captured.err


@contextmanager
def logging_as_it_was(*names: str) -> Iterator[None]:
    """nox.main() gives the root and nox loggers handlers on this test's captured stderr;
    left in place, a later test's log record would go to a closed stream ("Logging error")."""
    loggers = [logging.getLogger(name or None) for name in names]
    saved = [(logger, list(logger.handlers), logger.level) for logger in loggers]
    try:
        yield
    finally:
        for logger, handlers, level in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("uv")
    return tmp_path_factory.mktemp("sessions")


@pytest.fixture(scope="module")
def clean(workspace: Path) -> Path:
    """A passing project, locked once and shared (tests that change it work on copies)."""
    root = write_project(workspace / "clean")
    uv_lock(root)
    return root


def copy_of(project: Path, name: str) -> Path:
    target = project.parent / name
    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".nox", "reports"))
    return target


def locked(workspace: Path, name: str, **options: object) -> Path:
    root = write_project(workspace / name, **options)  # type: ignore[arg-type]
    uv_lock(root)
    return root


def output_of(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def read_json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_clean_project_passes_every_default_session(
    clean: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    sessions = ("lint", "types", "tests-3.12", "integration", "coverage", "security", "licenses")
    summary = clean / "step-summary.md"
    code, output = nox_in_process(
        clean, "-s", *sessions, monkeypatch=monkeypatch, capfd=capfd, step_summary=summary
    )
    assert code == 0, output
    assert "ruff check --no-fix --output-format=json" in output
    gates = summary.read_text()
    assert (
        "### Coverage (passed)\n\n100.0% of the sources from integration, tests-3.12 "
        "(threshold 90% for every suite)"
    ) in gates
    assert "### Security (passed)\n\nNo findings." in gates
    assert "### Licenses (passed)" in gates
    reports = clean / "reports"
    assert (reports / "junit-tests-3.12.xml").is_file()
    assert (reports / "junit-integration.xml").is_file()
    assert sorted(p.name for p in reports.glob(".coverage.*")) == [
        ".coverage.integration",
        ".coverage.tests-3.12",
    ]
    assert (reports / "coverage.xml").is_file()
    assert (reports / "htmlcov" / "index.html").is_file()
    assert read_json(reports / "security.json")["passed"] is True
    licenses = read_json(reports / "licenses.json")
    assert licenses["passed"] is True
    assert licenses["packages"] == [
        {
            "name": "typing_extensions",
            "version": "4.16.0",
            "license": "PSF-2.0",
            "url": "https://github.com/python/typing_extensions",
            "status": "allowed",
            "matched": None,
            "reason": None,
        }
    ]
    assert (
        "| typing_extensions | 4.16.0 | PSF-2.0 | allowed |"
        in (reports / "licenses.md").read_text()
    )
    # The sessions installed exactly the locked tool versions, nothing re-resolved.
    assert "ruff==0.17.6" in output
    assert "uv sync --frozen" in output


def test_list_json_names_every_session_with_its_python(clean: Path) -> None:
    default = run_nox(clean, "-l", "--json")
    assert default.returncode == 0, output_of(default)
    assert "integration" not in [item["session"] for item in json.loads(default.stdout)]
    done = run_nox(clean, "-t", "pipeline", "-l", "--json")
    assert done.returncode == 0, output_of(done)
    listing = {item["session"]: item for item in json.loads(done.stdout)}
    assert list(listing)[:7] == [
        "lint",
        "types",
        "tests-3.12",
        "integration",
        "coverage",
        "security",
        "licenses",
    ]
    assert {item["python"] for item in listing.values()} == {"3.12"}
    assert all("pipeline" in item["tags"] for item in listing.values())


def test_coverage_under_the_threshold_names_missing_integration_data(clean: Path) -> None:
    root = copy_of(clean, "low-coverage")
    module = root / "src" / "demo" / "__init__.py"
    module.write_text(module.read_text() + "\n\ndef unused() -> int:\n    return 1\n")
    done = run_nox(root, "-s", "tests-3.12", "coverage")
    assert done.returncode != 0
    text = output_of(done)
    assert (
        "coverage 75.0% is under the threshold 90% for every suite (integration data missing)"
    ) in text
    assert "run the suites the threshold was set for" in text


def test_plain_nox_judges_the_unit_data_against_the_unit_bar(clean: Path) -> None:
    """Plain `nox` (no integration) on a clean copy: green on the bar set for unit data, red
    when the unit data falls under it; the full bar waits for the integration data."""
    root = copy_of(clean, "plain-nox")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "coverage-fail-under = 90\n",
            "coverage-fail-under = 90\ncoverage-fail-under-unit = 70\n",
        )
    )
    module = root / "src" / "demo" / "__init__.py"
    module.write_text(module.read_text() + "\n\ndef unused() -> int:\n    return 1\n")
    done = run_nox(root, "-s", "tests-3.12", "coverage")
    assert done.returncode == 0, output_of(done)
    assert "coverage 75.0% from tests-3.12 (threshold 70% for unit suites only)" in output_of(done)
    module.write_text(module.read_text() + "\n\ndef unused2() -> int:\n    return 2\n\n\n"
                      "def unused3() -> int:\n    return 3\n")  # fmt: skip
    under = run_nox(root, "-s", "tests-3.12", "coverage")
    assert under.returncode != 0
    assert "is under the threshold 70% for unit suites only" in output_of(under)


def test_install_only_builds_the_envs_and_runs_nothing(clean: Path) -> None:
    root = copy_of(clean, "install-only")
    done = run_nox(root, "--install-only", "-s", "coverage", "security", "licenses")
    assert done.returncode == 0, output_of(done)
    assert "uv sync --frozen --no-default-groups" in done.stderr
    assert (root / ".nox" / "security" / "bin" / "bandit").is_file()
    assert not (root / "reports" / "security.json").exists()
    assert not (root / "reports" / "licenses.json").exists()


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("--collect-only", "no test ran (0 passed)"),
        ("--help", "no test ran (the run wrote no JUnit"),
    ],
)
def test_a_test_run_in_which_no_test_ran_is_red(clean: Path, option: str, says: str) -> None:
    root = copy_of(clean, f"no-test-ran{option}")
    done = run_nox(root, "-s", "tests-3.12", "--", option)
    assert done.returncode == 1, output_of(done)
    assert f"Session tests-3.12 aborted: pytest tests-3.12: {says}" in done.stderr
    assert "Traceback (most recent call last)" not in output_of(done)


@pytest.mark.parametrize("option", [["--no-venv"], ["--force-venv-backend", "none"]])
def test_a_session_without_a_venv_fails_in_one_line(clean: Path, option: list[str]) -> None:
    root = copy_of(clean, f"no-venv{len(option)}")
    done = run_nox(root, *option, "-s", "lint")
    assert done.returncode == 1
    assert "Session lint aborted: lint: runs in its own venv, synced from uv.lock, and was " in (
        done.stderr
    )
    assert "hint: drop that option; `nox -R` reuses the venvs" in done.stderr
    assert "Traceback (most recent call last)" not in output_of(done)
    assert not (root / "reports" / "ruff.json").exists()


def test_a_lint_error_fails_lint_and_is_never_fixed(clean: Path) -> None:
    root = copy_of(clean, "lint-error")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.ruff]\nfix = true\n")
    module = root / "src" / "demo" / "__init__.py"
    module.write_text("import os\n" + module.read_text())
    before = module.read_text()
    done = run_nox(root, "-s", "lint")
    assert done.returncode != 0
    assert "F401" in output_of(done)
    assert "Session lint failed" in output_of(done)
    assert module.read_text() == before  # the project's `fix = true` did not edit the tree


def test_a_type_error_fails_types(clean: Path) -> None:
    root = copy_of(clean, "type-error")
    module = root / "src" / "demo" / "__init__.py"
    module.write_text(module.read_text() + '\n\ndef broken() -> int:\n    return "one"\n')
    done = run_nox(root, "-s", "types")
    assert done.returncode != 0
    assert "Incompatible return value type" in output_of(done)
    assert "Session types aborted: mypy: 1 problem(s) in src, tests" in output_of(done)


def test_a_vulnerable_pin_fails_security_offline_unless_ignored(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    root = locked(workspace, "vulnerable", service=("requests==2.19.0",))
    (root / "src" / "demo" / "run.py").write_text(
        "import random\nimport subprocess\n\n\ndef run(command: str) -> int:\n"
        "    return subprocess.call(command, shell=True)\n\n\n"
        "def pick() -> int:\n    return random.randint(1, 6)\n"
    )
    summary = root / "step-summary.md"
    code, text = nox_in_process(
        root, "-s", "security", monkeypatch=monkeypatch, capfd=capfd, step_summary=summary
    )
    assert code != 0
    assert "safety 36546" in text
    assert "::error::safety 36546: The Requests package through 2.19.1" in text
    assert "::error file=src/demo/run.py,line=6::bandit B602" in text
    assert "### Security (failed:" in summary.read_text()
    assert "CVE-2018-18074" in text
    report = read_json(root / "reports" / "security.json")
    assert report["passed"] is False
    findings = {f["id"]: f for f in report["findings"]}  # type: ignore[attr-defined]
    assert findings["36546"]["aliases"] == ["CVE-2018-18074"]
    assert findings["36546"]["subject"] == "requests 2.19.0"
    assert "--db" in text  # offline: the prepared safety-db copy, no API call
    assert "advisory data: safety-db package, 2021-07-01 (" in text
    assert report["advisory_data"]["accepted_because"] == (  # type: ignore[index]
        "the fixture checks offline, on safety-db's data"
    )
    assert findings["B602"]["file"] == "src/demo/run.py"
    assert findings["B602"]["line"] == 6
    assert findings["B602"]["severity"] == "HIGH"  # a command from the caller
    # B311 (random) is LOW severity: listed with its rule, below the default MEDIUM bar.
    assert findings["B311"]["ignored"] is True
    assert findings["B311"]["reason"].startswith("below the bandit threshold (LOW severity")
    assert "bandit B311" not in text.split("security:")[-1]

    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.conveyor.security.ignore]\n"CVE-2018-18074" = { reason = "no redirects" }\n'
    )
    again = run_nox(root, "-R", "-s", "security")
    findings = {
        f["id"]: f
        for f in read_json(root / "reports" / "security.json")["findings"]  # type: ignore[attr-defined]
    }
    assert findings["36546"]["ignored"] is True
    assert findings["36546"]["reason"] == "no redirects"
    assert "safety 36546" not in output_of(again)


def test_old_advisory_data_fails_security_unless_accepted_with_a_reason(clean: Path) -> None:
    root = copy_of(clean, "stale-advisories")
    pyproject = root / "pyproject.toml"
    accepted = pyproject.read_text()
    kept = [line for line in accepted.splitlines() if "accept-stale" not in line]
    pyproject.write_text("\n".join(kept) + "\n")
    done = run_nox(root, "-s", "security")
    assert done.returncode != 0
    text = output_of(done)
    assert "Session security aborted: security: advisory data: safety-db package, 2021-07-01 (" in (
        text
    )
    assert "days old; max 45): older than max-data-age" in text
    assert "accept-stale-data" in text
    report = read_json(root / "reports" / "security.json")
    assert report["passed"] is False
    assert report["advisory_data"]["published"] == "2021-07-01T06:00:02+00:00"  # type: ignore[index]

    pyproject.write_text(accepted)
    again = run_nox(root, "-R", "-s", "security")
    assert again.returncode == 0, output_of(again)
    assert "older than max-data-age, accepted: the fixture checks offline" in output_of(again)


def test_a_gpl_dependency_fails_licenses_unless_allowed(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    root = locked(workspace, "gpl", dependencies=("unidecode==1.4.0",))
    code, text = nox_in_process(root, "-s", "licenses", monkeypatch=monkeypatch, capfd=capfd)
    assert code != 0
    assert "denied license in Unidecode (GNU General Public License v2" in text
    report = read_json(root / "reports" / "licenses.json")
    assert report["passed"] is False
    assert report["packages"][0]["status"] == "denied"  # type: ignore[index]

    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.conveyor.licenses.allow]\nunidecode = { reason = "build-time only" }\n'
    )
    again = run_nox(root, "-R", "-s", "licenses")
    assert again.returncode == 0, output_of(again)
    assert "allowed by override: build-time only" in (root / "reports" / "licenses.md").read_text()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('srcs = ["src"]', "[tool.conveyor] key 'srcs': unknown key"),
        (
            "coverage-fail-under = 150",
            "[tool.conveyor] key 'coverage-fail-under': Expected `float` <= 100.0",
        ),
    ],
)
def test_a_bad_key_stops_before_any_session(clean: Path, line: str, expected: str) -> None:
    root = copy_of(clean, f"bad-key-{line.split(maxsplit=1)[0]}")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text().replace("coverage-fail-under = 90", line)
    pyproject.write_text(text)
    done = run_nox(root, "-s", "lint")
    assert done.returncode == 2
    first_line = done.stderr.strip().splitlines()[0]
    assert first_line.startswith(f"{pyproject}: {expected}")
    assert "Running session" not in output_of(done)
    assert "Traceback (most recent call last)" not in output_of(done)


def test_a_missing_group_is_named_with_the_fix(workspace: Path) -> None:
    groups = {k: v for k, v in TOOL_PINS.items() if k != "licenses"}
    root = locked(workspace, "no-licenses-group", groups=groups)
    done = run_nox(root, "-s", "licenses")
    assert done.returncode != 0
    text = output_of(done)
    assert "[dependency-groups] has no 'licenses' group" in text
    assert "uv add --group licenses" in text
