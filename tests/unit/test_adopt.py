"""What Conveyor reads from a project before adopting it: runner, test dependencies, checker,
pins, coverage config, the groups that must stay apart from safety (real runs of all of it:
tests/integration/test_adopt_projects.py on tests/fixtures/projects)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conveyor.adopt import checker, conflicts, pins, testing
from conveyor.adopt import coverage as coverage_config
from conveyor.adopt.checker import Checker
from conveyor.adopt.plan import adopt
from conveyor.adopt.sources import ProjectFiles
from conveyor.config import load_project
from conveyor.errors import ToolFailedError
from conveyor.runner import Completed, Runner
from conveyor.tools.uv import compile_argv, pinned_versions

BASE = """\
[project]
name = "lib"
requires-python = ">=3.10"
"""


def project(root: Path, pyproject: str = "", **files: str) -> ProjectFiles:
    """Write pyproject.toml (BASE + `pyproject`) and other files (`tox_ini` -> tox.ini)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(BASE + textwrap.dedent(pyproject), encoding="utf-8")
    for name, text in files.items():
        path = root / name.replace("_", ".", 1).replace("dot.", ".")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return ProjectFiles.read(root)


TOML = "pyproject.toml"
TOX = """\
[testenv]
extras = tests
deps =
    pytest-randomly>=3
    -r requirements.txt
    {env:EXTRA:}
commands = pytest {posargs}

[testenv:typing]
deps = mypy==1.15.0
commands = mypy src tests

[pytest]
addopts = --doctest-modules
testpaths = tests src
"""


def test_groups_and_extras_expand_their_includes(tmp_path: Path) -> None:
    files = project(
        tmp_path,
        """
        [project.optional-dependencies]
        tests = ["pytest>=8", "lib[speed]"]
        speed = ["orjson"]

        [dependency-groups]
        test = ["hypothesis"]
        dev = [{ include-group = "test" }, "ruff==0.6.9"]
        """,
    )
    assert files.group_requirements("dev") == ["hypothesis", "ruff==0.6.9"]
    assert files.extra_requirements("tests") == ["pytest>=8", "orjson"]


def test_tox_gives_extras_deps_pytest_settings_and_command_targets(tmp_path: Path) -> None:
    files = project(
        tmp_path,
        '[project.optional-dependencies]\ntests = ["freezegun"]\n',
        tox_ini=TOX,
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "tests").mkdir()
    assert testing.extras_for_tests(files) == ("tests",)
    assert files.tox_deps() == ["pytest-randomly>=3"]  # no -r files, no substitutions
    config = testing.pytest_config(files)
    assert config == testing.PytestConfig("tox.ini [pytest]", ("tests", "src"))
    assert testing.runner(files) == "pytest"
    assert checker.tox_targets(files, "mypy") == ("src", "tests")
    assert pins.declared_pin(files, "mypy") == "mypy==1.15.0"


@pytest.mark.parametrize(
    ("files", "location", "testpaths"),
    [
        ({"pytest.ini": "[pytest]\ntestpaths = t\n"}, "pytest.ini [pytest]", ("t",)),
        ({"setup.cfg": "[tool:pytest]\naddopts = -ra\n"}, "setup.cfg [tool:pytest]", ()),
        ({"tox.ini": "[pytest]\ntestpaths = a b\n"}, "tox.ini [pytest]", ("a", "b")),
    ],
)
def test_pytest_settings_are_found_where_pytest_looks(
    tmp_path: Path, files: dict[str, str], location: str, testpaths: tuple[str, ...]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = project(tmp_path)
    assert testing.pytest_config(found) == testing.PytestConfig(location, testpaths)
    table = project(tmp_path / "toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    assert testing.pytest_config(table) == testing.PytestConfig(
        "pyproject.toml [tool.pytest.ini_options]", ("tests",)
    )


def test_a_suite_without_pytest_anywhere_runs_under_unittest(tmp_path: Path) -> None:
    files = project(tmp_path, **{"tests/test_x.py": "import unittest\n"})
    assert testing.runner(files) == "unittest"
    commands = project(tmp_path / "tox", tox_ini="[testenv]\ncommands = python -m unittest\n")
    assert testing.runner(commands) == "unittest"
    plain = project(tmp_path / "plain", **{"tests/test_x.py": "def test_x(): pass\n"})
    assert testing.runner(plain) == "pytest"  # pytest runs plain test functions (and unittest)
    declared = project(
        tmp_path / "declared",
        '[dependency-groups]\ntest = ["pytest"]\n',
        **{"tests/test_x.py": "import unittest\n"},
    )
    assert testing.runner(declared) == "pytest"


def test_test_dependencies_come_from_conventional_names_without_tox(tmp_path: Path) -> None:
    files = project(
        tmp_path,
        """
        [project.optional-dependencies]
        testing = ["pytest"]
        docs = ["sphinx"]

        [dependency-groups]
        tests = ["pytest"]
        lint = ["ruff"]
        """,
    )
    assert testing.extras_for_tests(files) == ("testing",)
    assert testing.groups_for_tests(files) == ("tests",)


def test_adopt_adds_conveyors_coverage_group_and_obeys_the_config(tmp_path: Path) -> None:
    project(tmp_path, '[dependency-groups]\ntest = ["pytest"]\ncoverage = ["coverage"]\n')
    plan = adopt(load_project(tmp_path))
    assert plan.groups == ("test", "coverage")
    assert plan.extras == ()
    assert plan.runner == "pytest"
    assert plan.checker == checker.Checker("mypy", None)
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        text + '\n[tool.conveyor]\ntest-groups = ["test"]\ntest-runner = "unittest"\n'
        'type-checker = "ty"\ntest-extras = []\n',
        encoding="utf-8",
    )
    plan = adopt(load_project(tmp_path))
    assert (plan.groups, plan.runner, plan.checker.name) == (("test",), "unittest", "ty")


@pytest.mark.parametrize(
    ("pyproject", "extra_files", "expected"),
    [
        ("[tool.ty.rules]\n", {}, Checker("ty", f"{TOML} [tool.ty]")),
        ("", {"pyrightconfig.json": "{}"}, Checker("pyright", "pyrightconfig.json")),
        ("[tool.basedpyright]\n", {}, Checker("basedpyright", f"{TOML} [tool.basedpyright]")),
        ("", {"setup.cfg": "[mypy]\nfiles = pkg\n"}, Checker("mypy", "setup.cfg [mypy]", ("pkg",))),
        ('[tool.mypy]\nfiles = ["src"]\n', {}, Checker("mypy", f"{TOML} [tool.mypy]", ("src",))),
        ("", {"mypy.ini": "[mypy]\nfiles = a, b\n"}, Checker("mypy", "mypy.ini", ("a", "b"))),
        ('[dependency-groups]\ndev = ["ty==0.0.1"]\n', {}, Checker("ty", "its defaults")),
        ("", {}, Checker("mypy", None)),
    ],
)  # fmt: skip
def test_the_type_checker_is_the_one_the_project_configures(
    tmp_path: Path, pyproject: str, extra_files: dict[str, str], expected: checker.Checker
) -> None:
    for name, text in extra_files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = checker.type_checker(project(tmp_path, pyproject))
    assert found == expected
    assert found.owned_by_conveyor is (expected.config is None)


def test_a_chosen_checker_wins_and_is_conveyors_when_unconfigured(tmp_path: Path) -> None:
    files = project(tmp_path, "[tool.ty.rules]\n")
    assert checker.type_checker(files, "mypy") == checker.Checker("mypy", None)
    assert checker.type_checker(files, "ty").config == "pyproject.toml [tool.ty]"


def test_tool_pins_come_from_groups_then_hooks_then_the_default(tmp_path: Path) -> None:
    hooks = """\
    repos:
      - repo: https://github.com/astral-sh/ruff-pre-commit
        rev: v0.6.9
        hooks: [{id: ruff}]
      - repo: https://github.com/pre-commit/mirrors-mypy
        rev: not-a-version
    """
    files = project(tmp_path, **{"dot.pre-commit-config.yaml": hooks})
    assert pins.hook_pin(files, "ruff") == "ruff==0.6.9"
    assert pins.hook_pin(files, "mypy") is None
    assert pins.tool_requirement(files, "ruff", "ruff>=0.8") == "ruff==0.6.9"
    assert pins.tool_requirement(files, "mypy", "mypy>=1.13") == "mypy>=1.13"
    grouped = project(
        tmp_path / "g", "[dependency-groups]\ndev = [\"ruff==0.5.0; python_version >= '3.10'\"]\n"
    )
    assert pins.tool_requirement(grouped, "ruff", "x") == "ruff==0.5.0; python_version >= '3.10'"


def test_coverage_sources_and_plugins_from_the_projects_config(tmp_path: Path) -> None:
    files = project(
        tmp_path,
        '[tool.coverage.run]\nsource = ["lib"]\nplugins = ["rules", "covdefaults"]\n',
        **{"tasks/rules.py": "", "src/covdefaults/__init__.py": ""},
    )
    assert coverage_config.measures_own_sources(files)
    assert coverage_config.plugin_dirs(files) == ["tasks"]  # covdefaults imports from src
    nested = project(
        tmp_path / "nested",
        '[tool.coverage.run]\nplugins = ["deep.rules"]\n',
        **{
            ".nox/tests/lib/site-packages/deep.py": "",  # an environment: not entered
            "tools/plugins/deep.py": "",
        },
    )
    assert coverage_config.plugin_dirs(nested) == ["tools/plugins"]
    rc = project(tmp_path / "rc", **{"dot.coveragerc": "[run]\nbranch = True\n"})
    assert not coverage_config.measures_own_sources(rc)
    cfg = project(tmp_path / "cfg", setup_cfg="[coverage:run]\nsource = lib\n")
    assert coverage_config.run_option(cfg, "source") == ["lib"]


class FakeCompile(Runner):
    """`uv pip compile` answered from a table: requirement text -> output (or a failure)."""

    def __init__(self, answers: dict[str, str | None]) -> None:
        super().__init__()
        self.answers = answers
        self.argv: list[list[str]] = []

    def run(self, argv: Sequence[Any], **_: Any) -> Completed:
        args = [str(a) for a in argv]
        self.argv.append(args)
        answer = self.answers[Path(args[-1]).read_text(encoding="utf-8").strip()]
        if answer is None:
            raise ToolFailedError("uv pip compile: exited 1")
        return Completed(tuple(args), 0, answer, "")


def test_groups_and_extras_resolving_packaging_22_or_later_stay_apart_from_safety(
    tmp_path: Path,
) -> None:
    files = project(
        tmp_path,
        """
        [project.optional-dependencies]
        tests = ["pytest"]

        [dependency-groups]
        safety = ["safety<2.4"]
        lint = ["ruff"]
        release = ["twine"]
        docs = ["sphinx"]
        nox = ["nox", "conveyor"]
        empty = []

        [tool.uv.dependency-groups]
        docs = { requires-python = ">=3.12" }
        """,
    )
    runner = FakeCompile(
        {
            "ruff": "ruff==0.6.9\n",
            "twine": "packaging==24.2\ntwine==6.1.0\n",
            "sphinx": None,
            "pytest": "packaging==21.3 ; python_version < '3.11'\npackaging==25.0\n",
        }
    )
    verdicts = {v.item: v for v in conflicts.safety_conflicts(files, "3.10", runner)}
    apart = {item.name for item, v in verdicts.items() if v.apart}
    assert apart == {"release", "docs", "nox", "tests"}
    assert verdicts[conflicts.Item("group", "docs")].reason.startswith("cannot be resolved")
    assert verdicts[conflicts.Item("group", "nox")].reason == "installs conveyor, nox"
    assert verdicts[conflicts.Item("extra", "tests")].reason == "resolves packaging 25.0"
    versions = {args[args.index("--python-version") + 1] for args in runner.argv}
    assert versions == {"3.10", "3.12"}  # docs resolves from its own requires-python
    line = conflicts.conflicts_line([conflicts.Item("group", "a"), conflicts.Item("extra", "b")])
    safety = '{ group = "safety" }'
    assert line == f'conflicts = [[{safety}, {{ group = "a" }}], [{safety}, {{ extra = "b" }}]]\n'
    data = {"tool": {"uv": {"conflicts": [
        [{"group": "safety"}, {"group": "a"}],
        [{"extra": "b"}, {"group": "safety"}],
        [{"group": "x"}, {"group": "y"}],
    ]}}}  # fmt: skip
    assert conflicts.declared_conflicts(data) == {
        conflicts.Item("group", "a"),
        conflicts.Item("extra", "b"),
    }


def test_uv_compile_argv_and_pinned_versions(tmp_path: Path) -> None:
    argv = compile_argv(tmp_path / "r.in", "3.10")
    assert argv[:3] == ["uv", "pip", "compile"]
    assert "--no-python-downloads" in argv  # resolving needs no interpreter download
    assert argv[argv.index("--python-version") + 1] == "3.10"
    assert "--universal" in argv
    text = "packaging==21.3 ; python_version < '3.11'\nPackaging==24.0\n# packaging==1\n-e .\n"
    assert pinned_versions(text, "packaging") == ["21.3", "24.0"]
