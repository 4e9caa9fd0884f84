"""The `conveyor` command: `init` a project, `doctor` its machine, `matrix` for CI.

Every ConveyorError becomes its one-line message (and hint) on stderr with its exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conveyor import doctor, interpreters
from conveyor.adopt import checker, testing
from conveyor.adopt.sources import ProjectFiles
from conveyor.config import load_project
from conveyor.errors import ConfigError, ConveyorError
from conveyor.matrix import build_matrix, list_sessions, publish
from conveyor.reports.github import markdown_table, write_step_summary
from conveyor.scaffold import hooks
from conveyor.scaffold.layout import Layout
from conveyor.scaffold.plan import Action, Options, apply, follow_ups, plan

NEXT_STEPS = (
    "next: `uv lock` (the new dependency groups), `uv run --group nox conveyor hooks` (pin the"
    " hooks to it), `uv run --group hooks pre-commit install` (enable them), then"
    " `uv run --group nox nox -l` to see the sessions and `uv run --group nox conveyor doctor`"
    " to check this machine"
)
"""Each command names the group it needs, so it works whatever the project's default groups."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conveyor",
        description="Conveyor: init a project, check its machine, build the CI matrix.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="add Conveyor's noxfile, tasks, hooks and CI")
    init.add_argument("path", nargs="?", default=".", help="the project root (default: .)")
    init.add_argument("--force", action="store_true", help="overwrite files that differ")
    init.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    init.add_argument("--docker", action="store_true", help="also add docker/ templates")
    init.add_argument(
        "--conveyor-source",
        metavar="PATH",
        help="install conveyor from this path ([tool.uv.sources]) instead of the index",
    )
    init.add_argument(
        "--safety-db",
        metavar="DB",
        help="check dependencies offline: 'safety-db' (that package's data) or a directory"
        " with safety's insecure.json files (default: safety's online database)",
    )
    init.add_argument(
        "--accept-stale-data",
        metavar="REASON",
        help="accept offline advisory data older than max-data-age, for this reason"
        " ([tool.conveyor.security] accept-stale-data)",
    )

    doc = commands.add_parser("doctor", help="check every prerequisite and how to fix it")
    doc.add_argument("path", nargs="?", default=".", help="the project root (default: .)")

    pin = commands.add_parser("hooks", help="pin the pre-commit hooks to uv.lock")
    pin.add_argument("path", nargs="?", default=".", help="the project root (default: .)")
    pin.add_argument("--check", action="store_true", help="only say whether the pins are stale")

    matrix = commands.add_parser("matrix", help="print the CI matrix from `nox -l --json`")
    matrix.add_argument("--exclude", action="append", default=[], metavar="SESSION")
    matrix.add_argument("--noxfile", default="noxfile.py")
    matrix.add_argument("--root", default=".", help="the project root (default: .)")
    return parser


def run_init(args: argparse.Namespace) -> int:
    """Plan the files, then show the diff (--dry-run) or write them."""
    root = Path(args.path)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a directory", hint="give the project root")
    options = Options(
        force=args.force,
        docker=args.docker,
        conveyor_source=args.conveyor_source,
        safety_db=args.safety_db,
        accept_stale_data=args.accept_stale_data,
    )
    layout, changes = plan(root, options)
    code = "application code" if layout.application else f"package {layout.package}"
    print(
        f"{layout.name}: {code} in {', '.join(layout.src)}, "
        f"tests in {', '.join(layout.tests)}, Python {', '.join(layout.pythons)}"
    )
    for line in adoption_lines(layout):
        print(f"  {line}")
    if layout.docker.builds_image:
        images = ", ".join(layout.docker.root_context) or "compose build: sections"
        compose = layout.docker.compose_file or "none at the root"
        print(f"  images: {images}; compose file: {compose}")
    if args.dry_run:
        for change in changes:
            if change.action in (Action.CREATE, Action.UPDATE):
                sys.stdout.write(change.diff())
    else:
        apply(layout.root, changes)
    for change in changes:
        verb = change.action.value
        if args.dry_run and change.action in (Action.CREATE, Action.UPDATE):
            verb = f"would {verb}"
        print(f"  {change.path}: {verb}")
    for note in follow_ups(changes, layout):
        print(f"note: {note}")
    if not args.dry_run and any(c.action is not Action.KEEP for c in changes):
        print(NEXT_STEPS)
    return 0


def adoption_lines(layout: Layout) -> list[str]:
    """What init found the project already has, and each declared Python not found here."""
    files = ProjectFiles.read(layout.root)
    found = interpreters.discover(layout.pythons)
    lines = [
        f"tests: {testing.runner(files)}"
        + (f" (settings in {config.location})" if (config := testing.pytest_config(files)) else ""),
        f"types: {describe_checker(checker.type_checker(files))}",
    ]
    declared = [f"group {g}" for g in testing.groups_for_tests(files)]
    declared += [f"extra {e}" for e in testing.extras_for_tests(files)]
    if declared:
        lines.append(f"test dependencies: {', '.join(declared)} (installed from uv.lock)")
    if found.missing:
        lines.append(
            f"Python {', '.join(found.missing)}: declared but not found here; their tests "
            f"sessions fail until installed: "
            + "; ".join(interpreters.install_hint(v) for v in found.missing)
        )
    return lines


def describe_checker(found: checker.Checker) -> str:
    """`ty (pyproject.toml [tool.ty])` or `mypy --strict (Conveyor's settings)`."""
    if found.owned_by_conveyor:
        return f"{found.name} --strict (Conveyor's settings: the project configures none)"
    return f"{found.name} ({found.config})"


def run_doctor(args: argparse.Namespace) -> int:
    """Print the prerequisite table; non-zero when the configured pipeline lacks something."""
    project = load_project(args.path)
    checks = doctor.diagnose(project)
    doctor.print_table(checks)
    write_step_summary(
        "### conveyor doctor\n\n" + markdown_table(doctor.HEADERS, doctor.rows(checks))
    )
    failed = [c.name for c in checks if c.failed]
    if failed:
        print(f"missing or stale and required: {', '.join(failed)}", file=sys.stderr)
    return doctor.exit_code(checks)


def run_hooks(args: argparse.Namespace) -> int:
    """Write `.pre-commit-config.yaml` with every hook pinned to uv.lock (or check it)."""
    project = load_project(args.path)
    path = project.root / hooks.CONFIG_FILE
    wanted = hooks.refresh(project.root, [*project.settings.src, *project.settings.tests])
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    if args.check:
        stale = hooks.stale_pins(hooks.configured_pins(current) or [],
                                 hooks.configured_pins(wanted) or [])  # fmt: skip
        if stale:
            print(f"{path}: hook pins differ from uv.lock: {'; '.join(stale)}", file=sys.stderr)
            print("  hint: run `uv run --group nox conveyor hooks`", file=sys.stderr)
            return 1
        print(f"{path}: hooks pinned to uv.lock")
        return 0
    if current != wanted:
        path.write_text(wanted, encoding="utf-8")
        print(f"{path}: hooks pinned to uv.lock")
    else:
        print(f"{path}: unchanged")
    return 0


def run_matrix(args: argparse.Namespace) -> int:
    """Print (and in Actions, set as output) the session x Python matrix."""
    root = Path(args.root)
    project = load_project(root)
    listing = list_sessions(root, args.noxfile)
    publish(build_matrix(listing, exclude=args.exclude, default_python=project.tools_python))
    return 0


COMMANDS = {"init": run_init, "doctor": run_doctor, "hooks": run_hooks, "matrix": run_matrix}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `conveyor` console script."""
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConveyorError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover - `python -m conveyor.cli`
    sys.exit(main())
